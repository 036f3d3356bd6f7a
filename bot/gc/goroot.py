"""File names as the compiler prints them -> repository paths (`module_file_mapper`), and files of
the Go distribution ($GOROOT) as escape-bot shows them: `-trimpath` prints standard-library
positions by import path (`net/http/server.go`), which reads like a repository file. Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping

# A file of the Go distribution (GOROOT), as shown to users: `-trimpath` prints standard-library
# positions by import path (`net/http/server.go`), which reads like a repository file.
GOROOT_PREFIX = "$GOROOT/"


def in_goroot(file: str) -> bool:
    """True for a (mapped) file of the Go distribution: never read, matched or linked as the repository's."""
    return file.startswith(GOROOT_PREFIX)


def std_like(name: str) -> bool:
    """`net/http/server.go`: a `-trimpath` name whose first element has no dot and no version.

    Only asked for names under none of the repository's modules; a dependency prints as
    `example.com/dep@v1.2.3/x.go` and a name without -trimpath starts with `/` or `.`.
    """
    first, slash, _ = name.partition("/")
    return (
        bool(slash)
        and bool(first)
        and not name.startswith((".", "/"))
        and "." not in first
        and "@" not in name
    )


def std_package(file: str) -> str:
    """`$GOROOT/net/http/server.go` -> `http`: the name the standard library's package goes by."""
    directory = file.removeprefix(GOROOT_PREFIX).rpartition("/")[0]
    return directory.rpartition("/")[2]


def module_file_mapper(modules: Mapping[str, str]) -> Callable[[str], str]:
    """Map `-trimpath` names (`module/path/file.go`) to repository paths.

    `modules` maps a module path to its directory relative to the repository root ('' for the
    root). The longest matching module path wins (nested modules). A standard-library name
    (`net/http/server.go`) maps to `$GOROOT/net/http/server.go`: not a repository file.
    """
    ordered = sorted(modules.items(), key=lambda kv: len(kv[0]), reverse=True)

    def mapper(name: str) -> str:
        for module, directory in ordered:
            if name.startswith(module + "/"):
                rest = name[len(module) + 1 :]
                return f"{directory}/{rest}" if directory else rest
        if std_like(name):
            return GOROOT_PREFIX + name  # a standard-library file (inlined or instantiated code)
        return name.removeprefix("./")

    return mapper
