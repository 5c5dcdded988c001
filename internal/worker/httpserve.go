package worker

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// serveUntil serves h on ln until ctx ends, then shuts down gracefully;
// with certFile it serves https. The worker's HTTP endpoints (the codec
// endpoint, the approval web app) all run this way.
func serveUntil(ctx context.Context, ln net.Listener, h http.Handler, certFile, keyFile string) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	var err error
	if certFile != "" {
		err = srv.ServeTLS(ln, certFile, keyFile)
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
