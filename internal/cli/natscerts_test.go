package cli

import (
	"flag"
	"testing"

	"github.com/ssprflow/ssprflow/internal/config"
)

// TestNATSCertsFlag: --nats-certs points the CLI at a deploy/certs.sh
// people/<id> directory, for a NATS server that requires client certificates.
func TestNATSCertsFlag(t *testing.T) {
	tests := []struct {
		args []string
		want *config.TLS
	}{
		{args: nil, want: nil},
		{args: []string{"--nats-certs", "/c/people/alice"}, want: &config.TLS{CAFile: "/c/people/alice/ca.pem",
			CertFile: "/c/people/alice/nats.pem", KeyFile: "/c/people/alice/nats-key.pem"}},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		nf := addNATSFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		got := nf.config().TLS
		if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
			t.Errorf("%v: TLS %+v, want %+v", tt.args, got, tt.want)
		}
	}
}
