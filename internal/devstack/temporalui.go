package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// TemporalUIOptions configures StartTemporalUI.
type TemporalUIOptions struct {
	// Port on 127.0.0.1; 0 picks a free one.
	Port int
	// Temporal is the frontend's host:port.
	Temporal string
	// Namespace the UI opens; DefaultNamespace when empty.
	Namespace string
	// CodecEndpoint is the codec server the UI's browser calls to decode
	// payloads (the worker's temporal.codecServer); empty shows them encoded.
	CodecEndpoint string
}

// TemporalUI is the Temporal Web UI (the ui-server module, as the Temporal
// CLI's dev server embeds it) serving this stack's Temporal.
type TemporalUI struct {
	srv *uiserver.Server
	url string
	err chan error
}

// StartTemporalUI serves the Web UI and returns once it answers.
func StartTemporalUI(ctx context.Context, o TemporalUIOptions) (*TemporalUI, error) {
	if o.Temporal == "" {
		return nil, errors.New("start Temporal UI: no Temporal frontend address")
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	port := o.Port
	if port == 0 {
		p, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("start Temporal UI: %w", err)
		}
		port = p
	}
	// The ui-server exits the process when it cannot listen, so a taken
	// port must be found here, with the flag that changes it.
	if err := checkPort(NamedPort{Addr: net.JoinHostPort(loopback, strconv.Itoa(port)), Override: "use --ui-port"}); err != nil {
		return nil, fmt.Errorf("start Temporal UI: %w", err)
	}
	cfg := &uiconfig.Config{
		Host:                loopback,
		Port:                port,
		TemporalGRPCAddress: o.Temporal,
		EnableUI:            true,
		DefaultNamespace:    o.Namespace,
		HideLogs:            true,
		// Plain HTTP on loopback: the UI's CSRF cookie cannot be Secure.
		CORS:  uiconfig.CORS{CookieInsecure: true},
		Codec: uiconfig.Codec{Endpoint: o.CodecEndpoint},
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("start Temporal UI: %w", err)
	}
	ui := &TemporalUI{
		srv: uiserver.NewServer(uioptions.WithConfigProvider(cfg)),
		url: "http://" + net.JoinHostPort(loopback, strconv.Itoa(port)),
		err: make(chan error, 1),
	}
	go func() { ui.err <- ui.srv.Start() }()
	if err := ui.awaitReady(ctx); err != nil {
		ui.Stop()
		return nil, fmt.Errorf("start Temporal UI on %s: %w", ui.url, err)
	}
	return ui, nil
}

// URL is the UI's address, e.g. http://127.0.0.1:8233.
func (u *TemporalUI) URL() string { return u.url }

// Stop stops serving.
func (u *TemporalUI) Stop() { u.srv.Stop() }

func (u *TemporalUI) awaitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.url+"/healthz", nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-u.err:
			return fmt.Errorf("the UI server stopped: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("not answering: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
