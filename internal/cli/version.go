package cli

import (
	"context"
	"fmt"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = "dev"

func versionCmd() *command {
	return &command{name: "version", summary: "print the version", run: func(ctx context.Context, io IO, args []string) error {
		goVersion := ""
		if bi, ok := debug.ReadBuildInfo(); ok {
			goVersion = bi.GoVersion
		}
		fmt.Fprintf(io.Out, "ssprflow %s (%s)\n", Version, goVersion)
		return nil
	}}
}
