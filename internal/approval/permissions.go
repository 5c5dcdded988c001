package approval

import (
	"fmt"
	"slices"

	"github.com/ssprflow/ssprflow/internal/blob"
)

// This file is the one source of truth for what each NATS user of ssprflow
// may do. deploy/nats.conf (RenderServerConfig), the nsc recipe
// (RenderNSCCommands), the dev stack and the tests all take their lists
// from RolePermissions; nothing else names a subject a role may use.
//
// The writeback agent has no role here: it talks to Temporal only and
// never connects to NATS.

// Role is what a NATS user is for.
type Role string

// The roles of ssprflow's NATS users.
const (
	// RoleWorker is the ssprflow worker: it owns the streams, publishes
	// requests, verdicts and events, consumes decisions through its bridge
	// consumer, and answers start and pending requests. It may not publish
	// a decision.
	RoleWorker Role = "worker"
	// RoleApprover is a person who decides approval gates: they publish
	// decisions in their own name, ask what is pending, read their own
	// verdicts and the audit trail.
	RoleApprover Role = "approver"
	// RoleOperator is a person who starts rollouts in their own name, asks
	// what is pending and reads the audit trail.
	RoleOperator Role = "operator"
)

// Roles lists every role, in the order configurations print them.
var Roles = []Role{RoleWorker, RoleApprover, RoleOperator}

// DefaultWorkerUser is the worker's NATS user name in deploy/nats.conf and
// the dev stack.
const DefaultWorkerUser = "ssprflow-worker"

// Permissions are what one NATS user may publish and subscribe to: allow
// lists, everything else is refused by the server.
type Permissions struct {
	Publish   []string
	Subscribe []string
	// AllowResponses lets the user answer a request it received, once and
	// within two minutes, on the reply subject the requester chose
	// (nats-server's allow_responses). Only the worker has it: it answers
	// start and pending requests on the requester's own inbox, which no
	// fixed list can name, and checks that subject with ReplyAllowed before
	// answering.
	AllowResponses bool
}

// jsAPI is the JetStream API prefix every permission below is written for
// (no JetStream domain).
const jsAPI = "$JS.API."

// directGetEvents is the read-only, stateless way to read the audit trail:
// a direct get names a stream sequence and a subject filter and returns one
// stored message; it cannot create, change or delete anything.
const directGetEvents = jsAPI + "DIRECT.GET." + EventsStream

// RolePermissions returns the permissions of the NATS user with the given
// role and id: the person's id (the user name, which is also the last token
// of their decision, start and pending subjects and the suffix of their
// inbox prefix) or, for RoleWorker, the worker's user name (empty for
// DefaultWorkerUser). Errors wrap ErrInvalidToken for an id that is not a
// valid token, or name an unknown role.
//
// Approvers and operators get no JetStream API subject but the direct get
// of SSPRFLOW_EVENTS: they cannot create, change, purge or delete streams
// or consumers, nor read SSPRFLOW_APPROVALS (other people's decisions). The
// worker gets only the API subjects of its two streams and its bridge
// consumer (DefaultDurable), and never a decision subject.
func RolePermissions(role Role, id string) (Permissions, error) {
	if role == RoleWorker && id == "" {
		id = DefaultWorkerUser
	}
	if err := checkTokens(string(role)+" id", id); err != nil {
		return Permissions{}, err
	}
	switch role {
	case RoleWorker:
		return workerPermissions(id, DefaultDurable), nil
	case RoleApprover:
		return Permissions{
			Publish: []string{
				Prefix + ".*.*.approval.decision." + id,
				Prefix + ".*.*.pending." + id,
				directGetEvents,
			},
			Subscribe: []string{
				InboxPrefix(id) + ".>",
				Prefix + ".*.*.approval.verdict." + id + ".*",
				EventSubjects,
			},
		}, nil
	case RoleOperator:
		return Permissions{
			Publish: []string{
				Prefix + ".*.*.start." + id,
				Prefix + ".*.*.diff." + id,
				Prefix + ".*.*.pending." + id,
				directGetEvents,
				// Plans and member files too large for a request are
				// uploaded to the blob store: publish a chunk (the stream
				// refuses to replace one) and direct get (is it there?).
				blob.Subjects,
				blob.DirectGet,
			},
			Subscribe: []string{
				InboxPrefix(id) + ".>",
				EventSubjects,
			},
		}, nil
	default:
		return Permissions{}, fmt.Errorf("unknown NATS role %q: use one of %v", role, Roles)
	}
}

// workerPermissions are the worker's: durable is its bridge consumer's name.
//
// The JetStream API subjects are exactly those nats.go's jetstream package
// (v1.55) sends for what the worker does: its streams at start
// (internal/streams: STREAM.INFO, then STREAM.CREATE for a missing one; the
// older EnsureStreams here tries STREAM.UPDATE, then STREAM.CREATE), the bridge
// (CreateOrUpdateConsumer sends CONSUMER.CREATE.<stream>.<durable>.<filter>;
// CONSUMER.DURABLE.CREATE is the older form; Messages pulls with
// CONSUMER.MSG.NEXT and acknowledges on $JS.ACK, in the v1 and the v2
// (domain, account hash) ack formats), ListEvents (DIRECT.GET), and the
// blob store (SSPRFLOW_BLOBS: publish chunks, DIRECT.GET them).
// STREAM.INFO and CONSUMER.INFO are for "nats stream info"-style checks as
// the worker. There is no delete, purge, list or names subject. The worker
// still holds STREAM.UPDATE (EnsureStreams, and the operator's `nats stream
// edit` fixes that a worker's start asks for run as this user), so a stolen worker
// password could change their limits or add a RePublish: the worker's
// credential is as sensitive as the worker itself. A separate bootstrap
// user for the streams would close that (not done).
func workerPermissions(user, durable string) Permissions {
	var pub []string
	for _, s := range []string{ApprovalsStream, EventsStream, blob.Stream} {
		pub = append(pub,
			jsAPI+"STREAM.CREATE."+s,
			jsAPI+"STREAM.UPDATE."+s,
			jsAPI+"STREAM.INFO."+s,
		)
	}
	onDurable := ApprovalsStream + "." + durable
	pub = append(pub,
		jsAPI+"CONSUMER.CREATE."+onDurable,
		jsAPI+"CONSUMER.CREATE."+onDurable+".>",
		jsAPI+"CONSUMER.DURABLE.CREATE."+onDurable,
		jsAPI+"CONSUMER.INFO."+onDurable,
		jsAPI+"CONSUMER.MSG.NEXT."+onDurable,
		"$JS.ACK."+onDurable+".>",
		"$JS.ACK.*.*."+onDurable+".>",
		directGetEvents,
		blob.DirectGet,
		blob.Subjects,
		RequestSubjects,
		VerdictSubjects,
		EventSubjects,
	)
	return Permissions{
		Publish: pub,
		Subscribe: []string{
			// JetStream replies on the default inbox; a worker user's
			// connection from the CLI uses its own prefix.
			"_INBOX.>",
			InboxPrefix(user) + ".>",
			StartSubjects,
			DiffSubjects,
			PendingSubjects,
			RequestSubjects,
			VerdictSubjects,
			EventSubjects,
		},
		AllowResponses: true,
	}
}

// Merge returns the union of p and q, for one person with several roles
// (an operator who also approves others' rollouts).
func (p Permissions) Merge(q Permissions) Permissions {
	union := func(a, b []string) []string {
		out := slices.Clone(a)
		for _, s := range b {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out
	}
	return Permissions{
		Publish:        union(p.Publish, q.Publish),
		Subscribe:      union(p.Subscribe, q.Subscribe),
		AllowResponses: p.AllowResponses || q.AllowResponses,
	}
}

// InboxPrefix is the reply-inbox prefix a person's connection must use
// (nats.CustomInboxPrefix(InboxPrefix(id))). People may subscribe only
// below it, so they cannot read replies meant for the worker or for others.
func InboxPrefix(id string) string {
	return "_INBOX_" + id
}
