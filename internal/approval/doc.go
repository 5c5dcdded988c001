// Package approval carries approval gates and rollout events over NATS
// JetStream.
//
// Subjects (every <token> is a single NATS subject token, see ValidToken):
//
//	ssprflow.<tenant>.<rollout>.approval.request.<gate>        gate asks for approval   (stream SSPRFLOW_APPROVALS)
//	ssprflow.<tenant>.<rollout>.approval.decision.<approverID> an approver's answer     (stream SSPRFLOW_APPROVALS)
//	ssprflow.<tenant>.<rollout>.approval.verdict.<decisionID>  the bridge's answer      (core NATS, not stored)
//	ssprflow.<tenant>.<rollout>.event.<kind>                   CloudEvents audit trail  (stream SSPRFLOW_EVENTS)
//
// The approver's identity is the last token of the decision subject. The NATS
// server's per-user publish permissions (RolePermissions) let each
// approver publish only on their own decision subject, so the bridge takes
// the identity from the subject and never from the message body.
//
// Flow: a gate publishes a Request (PublishRequest); an approver's CLI calls
// PublishDecision, which stores the Decision in JetStream and waits for a
// Verdict; the worker's Bridge consumes decisions with a durable pull
// consumer, hands each to a Decider (a Temporal Update in the worker),
// records an "approval.decision" event, publishes the Verdict and only then
// acknowledges the message. Redelivery is harmless: the Decider de-duplicates
// by Decision.ID and the bridge answers again.
package approval
