import { HttpApi, type HttpApiGroup } from "@effect/platform"

export const API_ID = "security-mcp-server"

/**
 * The API as one group's handler file sees it: the same id as the composed
 * API, so `HttpApiBuilder.group(apiOf(Tools), "tools", …)` implements that
 * group of it without importing the composition (which imports the handlers).
 */
export const apiOf = <Group extends HttpApiGroup.HttpApiGroup.Any>(group: Group) => HttpApi.make(API_ID).add(group)
