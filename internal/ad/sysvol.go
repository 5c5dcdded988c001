package ad

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	smb2 "github.com/cloudsoda/go-smb2"
)

// maxGptTmplSize bounds what a GptTmpl.inf read accepts: real templates
// are a few KiB.
const maxGptTmplSize = 1 << 20

// smbDialTimeout bounds connecting to SMB: a firewall that drops port 445
// should cost seconds, not the whole operation timeout.
const smbDialTimeout = 10 * time.Second

// sysvol is an SMB session to one DC's SYSVOL share. It only reads:
// ssprflow never edits a GPO.
type sysvol struct {
	host   string
	s      *smb2.Session
	shares map[string]*smb2.Share
}

// openSYSVOL starts an SMB session to host:445 with NTLM credentials.
func openSYSVOL(ctx context.Context, host string, cred *smb2.NTLMInitiator) (*sysvol, error) {
	addr := net.JoinHostPort(host, "445")
	dctx, cancel := context.WithTimeout(ctx, smbDialTimeout)
	defer cancel()
	// Signing required: a host in the path must not be able to hand the
	// worker a template that says 0 when the GPO says 1.
	d := &smb2.Dialer{Negotiator: smb2.Negotiator{RequireMessageSigning: true}, Initiator: cred}
	s, err := d.Dial(dctx, addr)
	if err != nil {
		return nil, &Error{Op: "open SYSVOL", Retryable: isNetErr(err), Err: fmt.Errorf("SMB session to %s: %w", addr, err),
			Hint: "the worker needs SMB (port 445) to the DC, and the directory profile's bind identity must be able to read SYSVOL over NTLM"}
	}
	return &sysvol{host: host, s: s, shares: map[string]*smb2.Share{}}, nil
}

func (v *sysvol) Close() {
	for _, sh := range v.shares {
		_ = sh.Umount()
	}
	_ = v.s.Logoff()
}

// gptTmpl reads the GPO's GptTmpl.inf from this DC, whatever server
// gPCFileSysPath names: the domain's DFS name may not resolve from the
// worker. A GPO without security
// settings has no GptTmpl.inf: the error then wraps os.ErrNotExist.
func (v *sysvol) gptTmpl(ctx context.Context, gpo GPO) ([]byte, error) {
	op := "read GptTmpl.inf of GPO " + gpo.name()
	_, share, dir, err := splitUNC(gpo.FileSysPath)
	if err != nil {
		return nil, &Error{Op: op, DN: gpo.DN, Err: err}
	}
	file := strings.TrimLeft(dir+`\`+GptTmplPath, `\`)
	unc := `\\` + v.host + `\` + share + `\` + file
	key := strings.ToLower(share)
	fs, ok := v.shares[key]
	if !ok {
		if fs, err = v.s.WithContext(ctx).Mount(`\\` + v.host + `\` + share); err != nil {
			return nil, &Error{Op: op, DN: gpo.DN, Retryable: isNetErr(err), Err: fmt.Errorf("mount %s: %w", share, err)}
		}
		v.shares[key] = fs
	}
	f, err := fs.WithContext(ctx).Open(file)
	if err != nil {
		return nil, &Error{Op: op, DN: gpo.DN, Retryable: isNetErr(err), Err: fmt.Errorf("open %s: %w", unc, err)}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxGptTmplSize+1))
	if err != nil {
		return nil, &Error{Op: op, DN: gpo.DN, Retryable: isNetErr(err), Err: err}
	}
	if len(b) > maxGptTmplSize {
		return nil, &Error{Op: op, DN: gpo.DN, Err: fmt.Errorf("%s is larger than %d bytes", unc, maxGptTmplSize)}
	}
	return b, nil
}

// readGPOs fills in each GPO's MinimumPasswordAgeDays from its GptTmpl.inf,
// over one SMB session to host. What cannot be read is returned as a
// warning, not an error: the domain object's minPwdAge is still checked,
// and the report says which GPO it could not confirm.
func readGPOs(ctx context.Context, host string, cred *smb2.NTLMInitiator, gpos []GPO) []string {
	if len(gpos) == 0 {
		return nil
	}
	notRead := func(err error, which ...GPO) []string {
		var w []string
		for _, g := range which {
			w = append(w, fmt.Sprintf("GptTmpl.inf of GPO %q %s could not be read from SYSVOL, so the minimum password age "+
				"it sets is unknown (the domain's minPwdAge was checked): %v", g.name(), g.GUID, err))
		}
		return w
	}
	v, err := openSYSVOL(ctx, host, cred)
	if err != nil {
		return notRead(err, gpos...)
	}
	defer v.Close()
	var warnings []string
	for i := range gpos {
		g := &gpos[i]
		raw, err := v.gptTmpl(ctx, *g)
		if errors.Is(err, os.ErrNotExist) {
			g.Read = true
			continue
		}
		if err != nil {
			warnings = append(warnings, notRead(err, *g)...)
			continue
		}
		t, err := ParseGptTmpl(raw)
		if err != nil {
			warnings = append(warnings, notRead(err, *g)...)
			continue
		}
		g.Read, g.MinimumPasswordAgeDays = true, t.MinimumPasswordAge
	}
	return warnings
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
