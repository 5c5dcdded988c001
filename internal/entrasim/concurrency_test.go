package entrasim

import (
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentClients runs writers and readers at once; run with -race.
func TestConcurrentClients(t *testing.T) {
	s := newSim(t, Options{Users: 400, Seed: 8})
	gid := s.createGroup("Concurrent")
	users := s.get("/v1.0/users?$top=200&$select=id").json(t)["value"].([]any)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(users); i += 4 {
				id := users[i].(map[string]any)["id"].(string)
				if r := s.addMember(gid, id); r.status != 204 {
					errs <- fmt.Errorf("add %s: %d %s", id, r.status, r.body)
					return
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 5 {
				if r := s.get("/v1.0/reports/authenticationMethods/userRegistrationDetails?$top=999"); r.status != 200 {
					errs <- fmt.Errorf("report: %d", r.status)
				}
				if _, err := s.srv.StateJSON(""); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Go(func() {
		p := s.portal("GET", "/api/PasswordReset/PasswordResetPolicies", nil).json(t)
		p["enablementType"] = 1
		p["passwordResetEnabledGroupIds"] = []string{gid}
		if r := s.portal("PUT", "/api/PasswordReset/PasswordResetPolicies", p); r.status != 200 {
			errs <- fmt.Errorf("portal put: %d %s", r.status, r.body)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n := 0
	next := "/v1.0/groups/" + gid + "/members?$top=999"
	for next != "" {
		m := s.get(next).json(t)
		n += len(m["value"].([]any))
		next, _ = m["@odata.nextLink"].(string)
	}
	if n != len(users) {
		t.Errorf("%d members, want %d", n, len(users))
	}
	// Every eligible member is enabled, whatever the interleaving was.
	rows := s.scanRegistrations("?$filter=isSsprEnabled%20eq%20true&$top=999")
	members := map[string]bool{}
	for _, u := range users {
		members[u.(map[string]any)["id"].(string)] = true
	}
	for _, r := range rows {
		if !members[r["id"].(string)] {
			t.Errorf("%s enabled but not a member", r["id"])
		}
	}
	if len(rows) == 0 {
		t.Error("nobody enabled")
	}
}
