package approval

// InboxPrefix is the reply-inbox prefix an approver's connection must use
// (nats.CustomInboxPrefix(InboxPrefix(id))). Approvers may subscribe only
// below it, so they cannot read replies meant for the worker or for other
// approvers (the worker's pull consumer receives decisions on its inbox).
func InboxPrefix(approverID string) string {
	return "_INBOX_" + approverID
}

// ApproverPermissions returns the subjects an approver's NATS user may
// publish and subscribe to, for the server's authorization config
// (server.Permissions or the "permissions" block of a user).
//
// An approver may publish only decisions signed with their own id as the
// last token, read verdicts, and read (not write) the event stream through
// ordered consumers. They cannot publish requests, verdicts or events, nor
// manage streams. approverID must satisfy ValidToken; an invalid id yields
// no permissions at all.
func ApproverPermissions(approverID string) (publish, subscribe []string) {
	if !ValidToken(approverID) {
		return nil, nil
	}
	publish = []string{
		Prefix + ".*.*.approval.decision." + approverID,
		// Read-only access to the audit trail (FollowEvents, ListEvents).
		"$JS.API.STREAM.INFO." + EventsStream,
		"$JS.API.CONSUMER.CREATE." + EventsStream + ".>",
		"$JS.API.CONSUMER.INFO." + EventsStream + ".>",
		"$JS.API.CONSUMER.DELETE." + EventsStream + ".>",
		"$JS.API.CONSUMER.MSG.NEXT." + EventsStream + ".>",
	}
	subscribe = []string{
		VerdictSubjects,
		InboxPrefix(approverID) + ".>",
	}
	return publish, subscribe
}

// ServicePermissions returns the subjects the worker's NATS user (gates,
// bridge, event recorder) may publish and subscribe to. The worker manages
// the streams, publishes requests, verdicts and events, and consumes
// decisions; it cannot publish a decision, so it cannot impersonate an
// approver. It also answers start requests (StartSubjects) on the
// operator's own inbox, which no fixed subject list can name: give the user
// allow_responses (server.ResponsePermission) as well.
func ServicePermissions() (publish, subscribe []string) {
	publish = []string{
		RequestSubjects,
		VerdictSubjects,
		EventSubjects,
		"$JS.API.>",
		"$JS.ACK.>",
	}
	subscribe = []string{
		"_INBOX.>",
		StartSubjects,
		RequestSubjects,
		VerdictSubjects,
		EventSubjects,
	}
	return publish, subscribe
}
