package worker

import (
	"context"
	"fmt"
	"os"

	"github.com/ssprflow/ssprflow/internal/writeback"
)

// ServiceName is the Windows service name of the writeback agent.
const ServiceName = "ssprflow-agent"

// serviceCommand installs, uninstalls or runs the worker as a Windows
// service. Installing records the same flags, with "--service run", as the
// service's arguments. Off Windows every action returns
// writeback.ErrServiceUnsupported.
func serviceCommand(ctx context.Context, action string, args []string, run func(context.Context) error) error {
	switch action {
	case "run":
		return writeback.RunService(ServiceName, run)
	case "install":
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		return writeback.InstallService(writeback.ServiceConfig{
			Name: ServiceName, DisplayName: "ssprflow writeback agent",
			Description: "Enables and verifies Entra password writeback for ssprflow rollouts (Temporal worker, outbound connections only)",
			ExePath:     exe, Args: withServiceRun(args),
		})
	case "uninstall":
		return writeback.UninstallService(ServiceName)
	}
	return fmt.Errorf("--service %q: use install, uninstall or run", action)
}

func withServiceRun(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--service" || a == "-service":
			i++ // drop its value
		case len(a) > 10 && (a[:10] == "--service=" || a[:9] == "-service="):
		default:
			out = append(out, a)
		}
	}
	return append(out, "--service", "run")
}
