package ad

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	smb2 "github.com/cloudsoda/go-smb2"
)

// SYSVOLConfig says how to read a GPO's files from SYSVOL over SMB.
type SYSVOLConfig struct {
	// Host overrides the server named in gPCFileSysPath (a DC's address
	// when the domain's DNS name does not resolve from the worker).
	Host string
	// User, Password and Domain authenticate with NTLM; the password is
	// resolved by the caller and never appears in errors.
	User, Password, Domain string
	// Timeout bounds the whole read (default 30s).
	Timeout time.Duration
}

// maxGptTmplSize bounds what ReadGptTmpl accepts: real templates are a
// few KiB.
const maxGptTmplSize = 1 << 20

// ReadGptTmpl reads the GPO's GptTmpl.inf from SYSVOL over SMB. It only
// reads: ssprflow never edits a GPO.
func ReadGptTmpl(ctx context.Context, cfg SYSVOLConfig, gpo GPO) ([]byte, error) {
	op := "read GptTmpl.inf of GPO " + gpo.DisplayName
	server, share, dir, err := splitUNC(gpo.FileSysPath)
	if err != nil {
		return nil, &Error{Op: op, DN: gpo.DN, Err: err}
	}
	if cfg.Host != "" {
		server = cfg.Host
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	addr := net.JoinHostPort(server, "445")
	d := &smb2.Dialer{Initiator: &smb2.NTLMInitiator{User: cfg.User, Password: cfg.Password, Domain: cfg.Domain}}
	s, err := d.Dial(ctx, addr)
	if err != nil {
		return nil, &Error{Op: op, DN: gpo.DN, Retryable: isNetErr(err), Err: fmt.Errorf("SMB session to %s: %w", addr, err),
			Hint: "the worker needs SMB (445) to a DC and an account that can read SYSVOL"}
	}
	defer s.Logoff()
	fs, err := s.WithContext(ctx).Mount(`\\` + server + `\` + share)
	if err != nil {
		return nil, &Error{Op: op, DN: gpo.DN, Err: fmt.Errorf("mount %s: %w", share, err)}
	}
	defer fs.Umount()
	path := strings.TrimLeft(dir+`\`+GptTmplPath, `\`)
	f, err := fs.WithContext(ctx).Open(path)
	if err != nil {
		return nil, &Error{Op: op, DN: gpo.DN, Err: fmt.Errorf(`open \\%s\%s\%s: %w`, server, share, path, err)}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxGptTmplSize+1))
	if err != nil {
		return nil, &Error{Op: op, DN: gpo.DN, Retryable: isNetErr(err), Err: err}
	}
	if len(b) > maxGptTmplSize {
		return nil, &Error{Op: op, DN: gpo.DN, Err: fmt.Errorf("GptTmpl.inf is larger than %d bytes", maxGptTmplSize)}
	}
	return b, nil
}

// splitUNC splits \\server\share\rest.
func splitUNC(p string) (server, share, rest string, err error) {
	if !strings.HasPrefix(p, `\\`) {
		return "", "", "", fmt.Errorf("gPCFileSysPath %q is not a UNC path", p)
	}
	parts := strings.SplitN(strings.TrimPrefix(p, `\\`), `\`, 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return "", "", "", fmt.Errorf("gPCFileSysPath %q has no server and share", p)
	}
	if len(parts) == 3 {
		rest = parts[2]
	}
	return parts[0], parts[1], rest, nil
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}
