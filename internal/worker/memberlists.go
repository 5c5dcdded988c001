package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ssprflow/ssprflow/internal/approval"
	"github.com/ssprflow/ssprflow/internal/blob"
	"github.com/ssprflow/ssprflow/internal/memberlist"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// PlanStore is what accepting a plan needs of the blob store.
type PlanStore interface {
	PutBytes(ctx context.Context, b []byte) (string, error)
	Bytes(ctx context.Context, digest string) ([]byte, error)
	Path(ctx context.Context, digest string) (string, error)
}

var _ PlanStore = (*blob.Store)(nil)

// planBytes returns the plan a request carries: inline, or by digest in the
// blob store (a plan too large for one NATS message).
func planBytes(ctx context.Context, store PlanStore, req approval.StartRequest) ([]byte, error) {
	if req.PlanBlob == "" {
		return req.Plan, nil
	}
	if len(req.Plan) > 0 {
		return nil, errors.New("the request carries the plan both inline and by digest: send one")
	}
	if store == nil {
		return nil, errors.New("this worker has no blob store: send the plan inline")
	}
	b, err := store.Bytes(ctx, req.PlanBlob)
	if err != nil {
		return nil, fmt.Errorf("read the plan %s from the blob store: %w", req.PlanBlob, err)
	}
	return b, nil
}

// storeMemberLists moves every stage's member list out of the plan: inline
// members and the files select.file names (uploaded by the CLI, carried by
// digest in req.Files) are checked, normalised to one key per line, stored
// by digest and referenced from the stage (MemberList). What the workflow
// gets is then small for any number of members; the signature over it
// covers the digests, so the lists cannot be swapped.
func storeMemberLists(ctx context.Context, store PlanStore, file string, p *plan.Rollout, files map[string]string) error {
	for i := range p.Spec.Stages {
		st := &p.Spec.Stages[i]
		field := fmt.Sprintf("%s: stages[%d] (%s)", file, i, st.Name)
		switch {
		case len(st.Members) > 0:
			if store == nil {
				continue // no store: inline members stay in the plan (tests, old workers)
			}
			var buf bytes.Buffer
			for _, m := range st.Members {
				buf.WriteString(strings.ToLower(strings.TrimSpace(m)))
				buf.WriteByte('\n')
			}
			ref, err := putList(ctx, store, field+".members", "members", buf.Bytes())
			if err != nil {
				return err
			}
			st.MemberList, st.Members = ref, nil
		case st.Select != nil && st.Select.File != "":
			digest, ok := files[st.Select.File]
			if !ok {
				return fmt.Errorf("%s.select.file: the plan names %q but the request did not carry it; start the rollout with `ssprflow rollout start PLAN`, which uploads the files a plan names (paths are relative to the plan file)", field, st.Select.File)
			}
			if store == nil {
				return fmt.Errorf("%s.select.file: this worker has no blob store, so it cannot read %q", field, st.Select.File)
			}
			path, err := store.Path(ctx, digest)
			if err != nil {
				return fmt.Errorf("%s.select.file %q: %w", field, st.Select.File, err)
			}
			norm, err := normaliseFile(st.Select.File, path)
			if err != nil {
				return fmt.Errorf("%s.select.file: %w", field, err)
			}
			ref, err := putList(ctx, store, field+".select.file", st.Select.File, norm)
			if err != nil {
				return err
			}
			st.MemberList = ref
		}
	}
	return nil
}

// normaliseFile parses a member file (errors name its line) and returns its
// keys, one per line.
func normaliseFile(name, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := memberlist.Parse(name, f, func(e memberlist.Entry) error {
		buf.WriteString(e.Key)
		buf.WriteByte('\n')
		return nil
	}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func putList(ctx context.Context, store PlanStore, field, source string, list []byte) (*plan.ListRef, error) {
	n := bytes.Count(list, []byte{'\n'})
	if n == 0 {
		return nil, fmt.Errorf("%s: the member list %q is empty: add members or remove the stage", field, source)
	}
	d, err := store.PutBytes(ctx, list)
	if err != nil {
		return nil, fmt.Errorf("%s: store the member list: %w", field, err)
	}
	return &plan.ListRef{Digest: d, Count: n, Source: source}, nil
}
