{
  description = "Security MCP Server: network security tools (nmap first) for AI agents over MCP";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      # The binaries the built-in tools run, and util-linux for prlimit.
      toolsFor = pkgs: with pkgs; [ nmap iputils traceroute dnsutils curl sslscan masscan util-linux ];
    in
    {
      packages = forAllSystems (pkgs:
        let
          packageJson = pkgs.lib.importJSON ./package.json;
        in
        {
          default = pkgs.buildNpmPackage {
            pname = packageJson.name;
            version = packageJson.version;
            src = pkgs.lib.sources.cleanSource ./.;
            nodejs = pkgs.nodejs_20;

            # Dependencies straight from package-lock.json (its integrity hashes), so
            # there is no separate npmDepsHash to keep in step with the lock file.
            npmDeps = pkgs.importNpmLock { npmRoot = ./.; };
            npmConfigHook = pkgs.importNpmLock.npmConfigHook;

            npmBuildScript = "build";
            nativeBuildInputs = [ pkgs.makeWrapper ];

            # Own install phase: the esbuild bundle holds every dependency, so node_modules is not shipped.
            installPhase = ''
              runHook preInstall
              install -Dm644 dist/server.js $out/lib/security-mcp-server/dist/server.js
              install -Dm644 dist/package.json $out/lib/security-mcp-server/dist/package.json
              install -Dm644 dist/main.cjs $out/lib/security-mcp-server/dist/main.cjs
              install -Dm644 dist/main.cjs.v8cache $out/lib/security-mcp-server/dist/main.cjs.v8cache
              install -Dm644 package.json $out/lib/security-mcp-server/package.json
              install -Dm644 config/config.example.yaml $out/share/security-mcp-server/config.example.yaml
              makeWrapper ${pkgs.nodejs_20}/bin/node $out/bin/security-mcp-server \
                --add-flags $out/lib/security-mcp-server/dist/server.js \
                --prefix PATH : ${pkgs.lib.makeBinPath (toolsFor pkgs)}
              runHook postInstall
            '';

            meta = {
              description = packageJson.description;
              license = pkgs.lib.licenses.mit;
              mainProgram = "security-mcp-server";
              platforms = pkgs.lib.platforms.linux;
            };
          };
        });

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = "${self.packages.${pkgs.stdenv.hostPlatform.system}.default}/bin/security-mcp-server";
        };
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [ pkgs.nodejs_20 pkgs.iproute2 pkgs.openssl ] ++ toolsFor pkgs;
        };
      });
    };
}
