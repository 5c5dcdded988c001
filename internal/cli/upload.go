package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/blob"
	"github.com/ssprflow/ssprflow/internal/memberlist"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// inlinePlanMax is the largest plan sent inside a request; a larger one
// (thousands of inline members) goes to the blob store and travels by
// digest, so no request grows with the number of members.
const inlinePlanMax = 64 << 10

// planRequest builds a start or diff request for the plan in file: the
// plan inline or by digest, and every member file it names (checked here
// first, so a bad line is reported before anything is sent) stored by
// digest.
func planRequest(ctx context.Context, conn *nats.Conn, file string, raw []byte, p *plan.Rollout) (approval.StartRequest, error) {
	req := approval.StartRequest{File: file}
	var store *blob.Store
	open := func() (*blob.Store, error) {
		if store != nil {
			return store, nil
		}
		s, err := blob.New(conn, "")
		store = s
		return s, err
	}
	for i, st := range p.Spec.Stages {
		if st.Select == nil || st.Select.File == "" {
			continue
		}
		if _, done := req.Files[st.Select.File]; done {
			continue
		}
		field := fmt.Sprintf("%s: stages[%d].select.file", file, i)
		path := filepath.Join(filepath.Dir(file), filepath.FromSlash(st.Select.File))
		f, err := os.Open(path)
		if err != nil {
			return req, fmt.Errorf("%s: %w (the path is relative to the plan file)", field, err)
		}
		stats, err := memberlist.Parse(st.Select.File, f, func(memberlist.Entry) error { return nil })
		if err == nil && stats.Entries == 0 {
			err = fmt.Errorf("%s holds no members: add UPNs or object ids, one per line", st.Select.File)
		}
		if err == nil {
			var s *blob.Store
			if s, err = open(); err == nil {
				if _, err = f.Seek(0, 0); err == nil {
					var d string
					if d, err = s.Put(ctx, f); err == nil {
						if req.Files == nil {
							req.Files = map[string]string{}
						}
						req.Files[st.Select.File] = d
					}
				}
			}
		}
		f.Close()
		if err != nil {
			return req, fmt.Errorf("%s: %w", field, err)
		}
	}
	if len(raw) <= inlinePlanMax {
		req.Plan = raw
		return req, nil
	}
	s, err := open()
	if err == nil {
		req.PlanBlob, err = s.PutBytes(ctx, raw)
	}
	if err != nil {
		return req, fmt.Errorf("%s: store the plan (%d KiB): %w", file, len(raw)>>10, err)
	}
	return req, nil
}
