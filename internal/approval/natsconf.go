package approval

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Deployment names the NATS users of one deployment, per role. It is the
// input of RenderServerConfig and RenderNSCCommands; deploy/nats.conf and
// deploy/nsc-users.sh are rendered from ShippedDeployment.
type Deployment struct {
	// WorkerUser is the worker's user name; empty means DefaultWorkerUser.
	WorkerUser string
	// Approvers and Operators are people's ids (their NATS user names). A
	// person in both lists is one user with both roles' permissions.
	Approvers []string
	Operators []string
	// Includes are configuration files the rendered one includes (paths
	// relative to it), such as the TLS block.
	Includes []string
}

// ParseIDs reads a comma-separated list of people's ids, as flags give
// them ("alice, bob"): blanks trimmed, empty entries dropped.
func ParseIDs(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// ShippedDeployment is the example deployment of deploy/nats.conf and
// deploy/nsc-users.sh.
var ShippedDeployment = Deployment{Approvers: []string{"alice"}, Operators: []string{"ops1"}, Includes: []string{"nats-tls.conf"}}

// NATSUser is one user of a Deployment with the union of their roles'
// permissions.
type NATSUser struct {
	Name  string
	Roles []Role
	Permissions
	// PasswordEnv is the environment variable deploy/nats.conf reads the
	// password (or its bcrypt hash) from.
	PasswordEnv string
}

// WorkerPasswordEnv holds the worker's NATS password in deploy/nats.conf.
const WorkerPasswordEnv = "SSPRFLOW_NATS_PASSWORD"

// PersonPasswordEnv returns the variable that holds a person's NATS
// password in deploy/nats.conf: "alice" -> ALICE_NATS_PASSWORD, '-' as '_'.
func PersonPasswordEnv(id string) string {
	return strings.ToUpper(strings.ReplaceAll(id, "-", "_")) + "_NATS_PASSWORD"
}

// Users returns d's users, the worker first, then each person once in the
// order first listed. Errors name an invalid id, a person who is also the
// worker, or two people whose password variables collide.
func (d Deployment) Users() ([]NATSUser, error) {
	worker := d.WorkerUser
	if worker == "" {
		worker = DefaultWorkerUser
	}
	wp, err := RolePermissions(RoleWorker, worker)
	if err != nil {
		return nil, err
	}
	users := []NATSUser{{Name: worker, Roles: []Role{RoleWorker}, Permissions: wp, PasswordEnv: WorkerPasswordEnv}}
	index := map[string]int{worker: 0}
	envs := map[string]string{WorkerPasswordEnv: worker}
	add := func(role Role, ids []string) error {
		for _, id := range ids {
			p, err := RolePermissions(role, id)
			if err != nil {
				return err
			}
			if i, ok := index[id]; ok {
				if i == 0 {
					return fmt.Errorf("%s %q is also the worker's NATS user: people need their own users", role, id)
				}
				if !slices.Contains(users[i].Roles, role) {
					users[i].Roles = append(users[i].Roles, role)
					users[i].Permissions = users[i].Permissions.Merge(p)
				}
				continue
			}
			env := PersonPasswordEnv(id)
			if other, ok := envs[env]; ok {
				return fmt.Errorf("%s %q and %q would share the password variable %s: rename one", role, id, other, env)
			}
			envs[env] = id
			index[id] = len(users)
			users = append(users, NATSUser{Name: id, Roles: []Role{role}, Permissions: p, PasswordEnv: env})
		}
		return nil
	}
	if err := add(RoleApprover, d.Approvers); err != nil {
		return nil, err
	}
	if err := add(RoleOperator, d.Operators); err != nil {
		return nil, err
	}
	return users, nil
}

// confHeader is the head of a rendered server configuration.
const confHeader = `# NATS with JetStream for ssprflow.
#
# GENERATED from internal/approval/permissions.go (RolePermissions), the one
# source of truth for every role's subjects; do not edit by hand. Regenerate:
#   go test ./internal/approval -run TestDeployNATSConf -update
# For your own people: see "NATS users" in deploy/README.md.
#
# Each password comes from the environment; set the variable to a bcrypt hash
# ("nats server passwd", or htpasswd -bnBC 11 "" PASSWORD | tr -d ':\n') so the
# server never holds the password itself. A missing variable stops the server.
`

// RenderServerConfig renders a nats-server configuration for d: a client
// port, JetStream, and one user per worker and person with exactly
// RolePermissions, passwords from $VARIABLES (NATSUser.PasswordEnv).
func RenderServerConfig(d Deployment) ([]byte, error) {
	users, err := d.Users()
	if err != nil {
		return nil, fmt.Errorf("render nats config: %w", err)
	}
	var b bytes.Buffer
	b.WriteString(confHeader)
	b.WriteString("port: 4222\njetstream { store_dir: /data }\n")
	for _, inc := range d.Includes {
		fmt.Fprintf(&b, "include %s\n", strconv.Quote(inc))
	}
	b.WriteString("authorization {\n  users = [\n")
	for _, u := range users {
		fmt.Fprintf(&b, "    # %s\n", roleList(u.Roles))
		fmt.Fprintf(&b, "    { user: %s, password: $%s\n      permissions: {\n", strconv.Quote(u.Name), u.PasswordEnv)
		writeList(&b, "publish", u.Publish)
		writeList(&b, "subscribe", u.Subscribe)
		if u.AllowResponses {
			b.WriteString("        allow_responses: true\n")
		}
		b.WriteString("      } }\n")
	}
	b.WriteString("  ]\n}\n")
	return b.Bytes(), nil
}

func roleList(roles []Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// writeList writes one allow list, subjects quoted: an unquoted "$JS..."
// would be read as a variable.
func writeList(b *bytes.Buffer, name string, subjects []string) {
	fmt.Fprintf(b, "        %s: { allow: [\n", name)
	for _, s := range subjects {
		fmt.Fprintf(b, "          %s\n", strconv.Quote(s))
	}
	b.WriteString("        ] }\n")
}

// RenderNSCCommands renders a shell script of nsc commands that create the
// same users with the same permissions for decentralized (JWT) auth, in an
// account with JetStream.
func RenderNSCCommands(d Deployment) ([]byte, error) {
	users, err := d.Users()
	if err != nil {
		return nil, fmt.Errorf("render nsc commands: %w", err)
	}
	var b bytes.Buffer
	b.WriteString(`#!/bin/sh
# ssprflow's NATS users for decentralized (JWT) auth: the same permissions as
# nats.conf. GENERATED from internal/approval/permissions.go; do not edit.
# Regenerate: go test ./internal/approval -run TestDeployNATSConf -update
# Needs an nsc operator (nsc add operator --generate-signing-key --sys --name ...).
set -eu
ACCOUNT=${ACCOUNT:-SSPRFLOW}
nsc add account --name "$ACCOUNT"
nsc edit account --name "$ACCOUNT" --js-mem-storage 256M --js-disk-storage 10G
`)
	for _, u := range users {
		fmt.Fprintf(&b, "# %s\n", roleList(u.Roles))
		fmt.Fprintf(&b, "nsc add user --account \"$ACCOUNT\" --name %s \\\n", shellQuote(u.Name))
		fmt.Fprintf(&b, "  --allow-pub %s \\\n", shellQuote(strings.Join(u.Publish, ",")))
		fmt.Fprintf(&b, "  --allow-sub %s", shellQuote(strings.Join(u.Subscribe, ",")))
		if u.AllowResponses {
			b.WriteString(" \\\n  --allow-pub-response --response-ttl 2m")
		}
		b.WriteString("\n")
	}
	return b.Bytes(), nil
}

// shellQuote single-quotes s for sh; subjects and ids hold no quote.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
