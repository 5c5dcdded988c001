package graph

import (
	"context"
	"fmt"

	"github.com/ssprflow/ssprflow/internal/entra"
	"github.com/ssprflow/ssprflow/internal/plan"
)

// Snapshot reads the authentication methods policy from Graph and, when a
// portal credential is configured, both portal objects. In portal-api mode a
// missing portal credential is an error; in manual mode the snapshot then
// holds Graph fields only.
func (c *Client) Snapshot(ctx context.Context) (entra.Snapshot, error) {
	snap, err := c.Preview(ctx)
	if err != nil {
		return snap, err
	}
	if len(snap.Unreadable) > 0 && c.cfg.Mode == plan.PolicyModePortalAPI {
		// portal-api mode writes these fields: it must read them first.
		for _, why := range snap.Unreadable {
			return entra.Snapshot{}, fmt.Errorf("snapshot: %w", &entra.PermanentError{Op: "read portal password reset policy", Message: why})
		}
	}
	return snap, nil
}

// Preview reads the whole configuration as far as it can: portal fields it
// cannot read (no portal credential, a sign-in a person must renew, a
// permission the token lacks) are named in Unreadable with the reason,
// not returned as errors, so that `plan diff` shows them as "could not
// read". Throttling and outages are still errors.
func (c *Client) Preview(ctx context.Context) (entra.Snapshot, error) {
	snap := entra.Snapshot{Settings: entra.Settings{}}
	mig, err := c.readPolicy(ctx, snap.Settings)
	if err != nil {
		return entra.Snapshot{}, fmt.Errorf("snapshot: %w", err)
	}
	snap.MigrationState = mig
	unreadable := func(why string) {
		snap.Unreadable = map[entra.Field]string{}
		for f := range portalKeys {
			snap.Unreadable[f] = why
		}
	}
	if c.cfg.PortalCredential == nil {
		unreadable("no portal credential on the worker: the PasswordReset API needs " + permPortal +
			" (tenants[].portal, method device-code; see ssprflow-worker login portal)")
		c.log.Warn("graph: snapshot without portal fields: no portal credential configured")
		return snap, nil
	}
	name, err := c.readPortal(ctx, snap.Settings)
	if err != nil {
		if !entra.IsPermanent(err) {
			return entra.Snapshot{}, fmt.Errorf("snapshot: %w", err)
		}
		unreadable(err.Error())
		return snap, nil
	}
	snap.GroupName = name
	return snap, nil
}

// Apply writes changes: Graph fields through the authentication methods
// policy (one PATCH per changed method, only the changed properties), portal
// fields through the portal API (portal-api mode). In manual mode portal
// fields are not written: Apply still applies the Graph fields, then returns
// a *entra.ManualError (matching entra.ErrManual) listing the portal changes
// the tenant does not hold yet (re-read when a portal credential is
// configured, so calling Apply again after a human made them returns nil).
//
// Every change is validated before anything is written.
func (c *Client) Apply(ctx context.Context, changes []entra.Change) error {
	if err := entra.Check(changes); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	var graphCh, portalCh []entra.Change
	for _, ch := range changes {
		if ch.Field.IsPortal() {
			portalCh = append(portalCh, ch)
		} else {
			graphCh = append(graphCh, ch)
		}
	}
	patches, err := planPolicy(graphCh)
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	if err := c.applyPolicy(ctx, patches); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	if len(portalCh) == 0 {
		return nil
	}
	if c.cfg.Mode == plan.PolicyModeManual {
		pending := portalCh
		if c.cfg.PortalCredential != nil {
			cur := entra.Settings{}
			if _, err := c.readPortal(ctx, cur); err != nil {
				return fmt.Errorf("apply: verify portal settings: %w", err)
			}
			pending = nil
			for _, ch := range portalCh {
				if cur[ch.Field] != ch.To {
					pending = append(pending, ch)
				}
			}
		}
		if len(pending) == 0 {
			return nil
		}
		return fmt.Errorf("apply: %w", &entra.ManualError{Changes: pending})
	}
	if err := c.applyPortal(ctx, portalCh); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	return nil
}
