/**
 * Programs that run other programs or code given as arguments: a shell, an
 * interpreter, a launcher (`env`, `nice`, `timeout`, `sudo` …) or a dynamic
 * loader. A flag allow-list means nothing for them, so none may be the binary
 * of a custom tool. Names alone are not enough (a symlink, a hard link or a
 * copy under another name runs the same code): `src/tools/custom.ts` also
 * judges the real file by its content and by its identity with the installed
 * programs named here.
 */

export type LauncherKind = "shell" | "interpreter" | "launcher" | "loader"

const shells = [
  "sh",
  "ash",
  "bash",
  "rbash",
  "dash",
  "zsh",
  "rzsh",
  "ksh",
  "ksh93",
  "rksh",
  "mksh",
  "lksh",
  "pdksh",
  "oksh",
  "csh",
  "tcsh",
  "fish",
  "yash",
  "posh",
  "elvish",
  "nu",
  "xonsh",
  "pwsh",
  "rc",
  "es",
  "git-shell",
  "tmux",
  "screen"
]

const interpreters = [
  "awk",
  "gawk",
  "mawk",
  "nawk",
  "original-awk",
  "busybox",
  "toybox",
  "sed",
  "gsed",
  "perl",
  "python",
  "pypy",
  "ruby",
  "irb",
  "node",
  "nodejs",
  "deno",
  "bun",
  "php",
  "lua",
  "luajit",
  "tclsh",
  "wish",
  "expect",
  "java",
  "jshell",
  "jrunscript",
  "jjs",
  "groovy",
  "scala",
  "R",
  "Rscript",
  "julia",
  "guile",
  "racket",
  "sbcl",
  "clisp",
  "ecl",
  "gdb",
  "lldb",
  "vi",
  "vim",
  "nvim",
  "ex",
  "ed",
  "emacs",
  "less",
  "more",
  "man",
  "make",
  "m4",
  "dc",
  "gnuplot",
  "octave",
  "sqlite3",
  "find",
  "tar"
]

const launchers = [
  "env",
  "setpriv",
  "taskset",
  "time",
  "flock",
  "nice",
  "renice",
  "ionice",
  "chrt",
  "numactl",
  "timeout",
  "xargs",
  "parallel",
  "chroot",
  "nohup",
  "stdbuf",
  "unbuffer",
  "sudo",
  "su",
  "sg",
  "newgrp",
  "doas",
  "pkexec",
  "runuser",
  "setsid",
  "setarch",
  "linux32",
  "linux64",
  "nsenter",
  "unshare",
  "ip",
  "capsh",
  "prlimit",
  "cgexec",
  "systemd-run",
  "firejail",
  "bwrap",
  "proot",
  "fakeroot",
  "fakechroot",
  "faketime",
  "eatmydata",
  "torsocks",
  "proxychains",
  "proxychains4",
  "strace",
  "ltrace",
  "valgrind",
  "catchsegv",
  "script",
  "watch",
  "entr",
  "rlwrap",
  "run-parts",
  "start-stop-daemon",
  "dbus-run-session",
  "xvfb-run",
  "ssh-agent",
  "ssh",
  "scp",
  "rsync",
  "socat",
  "nc",
  "ncat",
  "netcat"
]

const byName: ReadonlyMap<string, LauncherKind> = new Map([
  ...shells.map((name) => [name, "shell"] as const),
  ...interpreters.map((name) => [name, "interpreter"] as const),
  ...launchers.map((name) => [name, "launcher"] as const)
])

/** Every name above, to find the installed programs a custom binary must not be. */
export const launcherNames: ReadonlyArray<string> = [...byName.keys()]

/** Versioned interpreter names (`python3.11`, `perl5.36.0`, `lua5.4`, `tclsh8.6`, `php8.2`, `pypy3`). */
const versioned = /^(?:python|pypy|perl|ruby|php|lua|luajit|tclsh|wish|node|guile|pwsh|jshell|gawk|java)[0-9][0-9._-]*$/

/** Dynamic loaders: `ld.so`, `ld-linux-x86-64.so.2`, `ld-musl-x86_64.so.1`, `ld-2.36.so`. */
export const loaderName = /^ld(?:[.-].*)?\.so(?:\.[0-9.]+)?$/

/** What a file name says the program is; case-insensitive, since some file systems are. */
export const launcherKindByName = (basename: string): LauncherKind | undefined => {
  const lower = basename.toLowerCase()
  if (loaderName.test(lower)) return "loader"
  return byName.get(basename) ?? byName.get(lower) ?? (versioned.test(lower) ? "interpreter" : undefined)
}

/**
 * Text that only these programs carry, whatever they are called: the usage
 * messages of glibc's and musl's dynamic loaders and the multi-call
 * BusyBox/Toybox banners. (Interpreter symbols are not used: nmap itself
 * embeds Lua.)
 */
export const launcherMarkers: ReadonlyArray<{ readonly text: string; readonly kind: LauncherKind; readonly what: string }> = [
  { text: "You have invoked 'ld.so'", kind: "loader", what: "the glibc dynamic loader" },
  { text: "Dynamic Program Loader", kind: "loader", what: "the musl dynamic loader" },
  { text: "BusyBox is copyrighted by many authors", kind: "interpreter", what: "BusyBox" },
  { text: "BusyBox v", kind: "interpreter", what: "BusyBox" },
  { text: "Toybox is copyright", kind: "interpreter", what: "Toybox" }
]

/** Directories holding dynamic loaders, besides the executable search path. */
export const loaderDirectories: ReadonlyArray<string> = [
  "/lib",
  "/lib64",
  "/lib32",
  "/libx32",
  "/usr/lib",
  "/usr/lib64",
  "/usr/lib32",
  "/lib/x86_64-linux-gnu",
  "/usr/lib/x86_64-linux-gnu",
  "/lib/aarch64-linux-gnu",
  "/usr/lib/aarch64-linux-gnu",
  "/lib/i386-linux-gnu",
  "/usr/lib/i386-linux-gnu"
]
