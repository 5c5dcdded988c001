package writeback

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Event sources in the Application log.
const (
	ProviderPasswordResetService = "PasswordResetService"
	ProviderADSync               = "ADSync"
)

type eventInfo struct {
	name    string
	kind    EventKind
	meaning string
}

const failedSetCauses = "the password does not meet the domain's minimum age, history, complexity or filter requirements; " +
	"the AD DS connector account lacks the Reset Password right on the user; or the user is in a protected group such as Domain Admins"

// passwordResetEvents documents PasswordResetService event ids (Microsoft
// Entra "Troubleshoot self-service password reset writeback").
var passwordResetEvents = map[int]eventInfo{
	31001: {"PasswordResetStart", EventInfo, "a self-service password reset request from the cloud reached the on-premises service"},
	31002: {"PasswordResetSuccess", EventHealthy, "a user's reset password was written back to on-premises AD"},
	31003: {"PasswordResetFail", EventFailure, "a user's reset password reached on-premises but setting it in AD failed: " + failedSetCauses},
	31004: {"OnboardingEventStart", EventHealthy, "password writeback was enabled and onboarding to the writeback service started"},
	31005: {"OnboardingEventSuccess", EventHealthy, "onboarding completed: password writeback is ready"},
	31006: {"ChangePasswordStart", EventInfo, "a password change request from the cloud reached the on-premises service"},
	31007: {"ChangePasswordSuccess", EventHealthy, "a user's changed password was written back to on-premises AD"},
	31008: {"ChangePasswordFail", EventFailure, "a user's changed password reached on-premises but setting it in AD failed: " + failedSetCauses},
	31009: {"ResetUserPasswordByAdminStart", EventInfo, "an administrator-initiated reset reached the on-premises service"},
	31010: {"ResetUserPasswordByAdminSuccess", EventHealthy, "an administrator-initiated reset was written back to on-premises AD"},
	31011: {"ResetUserPasswordByAdminFail", EventFailure, "an administrator-initiated reset reached on-premises but setting it in AD failed: " + failedSetCauses},
	31012: {"OffboardingEventStart", EventInfo, "password writeback is being disabled (offboarding started)"},
	31013: {"OffboardingEventSuccess", EventInfo, "password writeback was disabled (offboarding completed)"},
	31014: {"OffboardingEventFail", EventFailure, "disabling password writeback failed: check the admin permissions used and that the cloud admin account is not federated"},
	31015: {"WriteBackServiceStarted", EventHealthy, "the password writeback service started and accepts password requests from the cloud"},
	31016: {"WriteBackServiceStopped", EventFailure, "the password writeback service stopped: password requests from the cloud will fail"},
	31017: {"AuthTokenSuccess", EventInfo, "an authorization token for the admin account given during setup was obtained"},
	31018: {"KeyPairCreationSuccess", EventInfo, "the password encryption key was created"},
	31019: {"ServiceBusHeartBeat", EventHealthy, "the writeback service's heartbeat to the cloud over Service Bus succeeded"},
	32000: {"UnknownError", EventFailure, "an unknown error occurred during a password management operation; see the event text, then disable and re-enable writeback"},
	32001: {"ServiceError", EventFailure, "the on-premises service could not connect to the cloud password reset web service"},
	32002: {"ServiceBusError", EventFailure, "the service could not connect to the tenant's Service Bus instance: outbound connections are probably blocked; " +
		"allow HTTPS (TCP 443) to *.servicebus.windows.net and *.passwordreset.microsoftonline.com, then disable and re-enable writeback"},
	32003: {"InputValidationError", EventFailure, "the input passed to the writeback web service API was invalid"},
	32004: {"DecryptionError", EventFailure, "a password from the cloud could not be decrypted (key mismatch); disable and re-enable writeback"},
	32005: {"ConfigurationError", EventFailure, "the writeback configuration file could not be written or read; disable and re-enable writeback"},
	32007: {"OnBoardingConfigUpdateError", EventFailure, "onboarding data could not be written; disable and re-enable writeback"},
	32008: {"ValidationError", EventFailure, "the password reset web service returned an invalid response; disable and re-enable writeback"},
	32009: {"AuthTokenError", EventFailure, "no authorization token for the admin account given during setup: wrong user name or password, or a federated account"},
	32010: {"CryptoError", EventFailure, "generating the encryption key or decrypting a password failed"},
	32011: {"OnBoardingServiceError", EventFailure, "onboarding could not reach the password reset web service: check outbound TCP 443 and that the admin account is not federated"},
	32013: {"OffBoardingError", EventFailure, "offboarding could not reach the password reset web service"},
	32014: {"ServiceBusWarning", EventInfo, "the service had to retry connecting to Service Bus (repeated warnings suggest a slow or flaky network)"},
	32015: {"ReportServiceHealthError", EventFailure, "the 5-minute health heartbeat could not be sent to the cloud"},
	33001: {"ADUnKnownError", EventFailure, "Active Directory returned an unknown error; see the ADSync events"},
	33002: {"ADUserNotFoundError", EventFailure, "the user was not found in on-premises AD (deleted on-premises or a sync problem)"},
	33003: {"ADMutliMatchError", EventFailure, "two on-premises users share the same cloud anchor"},
	33004: {"ADPermissionsError", EventFailure, "the AD DS connector account lacks the Reset/Change Password rights: grant them on every domain root"},
	33005: {"ADUserAccountDisabled", EventFailure, "the on-premises account is disabled"},
	33006: {"ADUserAccountLockedOut", EventFailure, "the on-premises account is locked out"},
	33007: {"ADUserIncorrectPassword", EventFailure, "the user gave a wrong current password for a change"},
	33008: {"ADPasswordPolicyError", EventFailure, "the password violates the domain's minimum age, history, complexity or filter policy; writeback needs minimum password age 0 to reset more than once a day"},
	33009: {"ADConfigurationError", EventFailure, "an Active Directory configuration problem blocked writeback; see the ADSync events"},
}

// adsync6329 is ADSync's "BAIL: MMS(4924) 0x80230619" (or the missing LDAP
// password policy hints control) during a writeback.
var adsync6329 = eventInfo{"ADSyncPasswordSetBlocked", EventFailure,
	"a restriction prevented setting the password in AD: minimum password age (must be 0 for writeback to reset more than once a day), " +
		"password history, complexity or a password filter; or the DC lacks the LDAP_SERVER_POLICY_HINTS control"}

// ClassifyEvent returns the documented name, kind and meaning of an event.
// Unknown events are EventInfo with an empty name.
func ClassifyEvent(provider string, id int) (name string, kind EventKind, meaning string) {
	switch {
	case strings.EqualFold(provider, ProviderPasswordResetService):
		if e, ok := passwordResetEvents[id]; ok {
			return e.name, e.kind, e.meaning
		}
	case strings.EqualFold(provider, ProviderADSync) && id == 6329:
		return adsync6329.name, adsync6329.kind, adsync6329.meaning
	}
	return "", EventInfo, ""
}

type eventJSON struct {
	ID           int      `json:"Id"`
	ProviderName string   `json:"ProviderName"`
	TimeCreated  flexTime `json:"TimeCreated"`
	Level        string   `json:"Level"`
	Message      string   `json:"Message"`
}

// maxMessage bounds event text kept in results (workflow history).
const maxMessage = 400

// ReadWritebackEvents reads PasswordResetService events and ADSync 6329 from
// the Application log since the given time, classified and oldest first.
func ReadWritebackEvents(ctx context.Context, r Runner, since time.Time) ([]EventRecord, error) {
	raw, err := runList[eventJSON](ctx, r, "read writeback events", ScriptReadWritebackEvents,
		map[string]string{"Since": since.UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return nil, err
	}
	events := make([]EventRecord, 0, len(raw))
	for _, e := range raw {
		if !e.TimeCreated.IsZero() && e.TimeCreated.Before(since) {
			continue
		}
		name, kind, meaning := ClassifyEvent(e.ProviderName, e.ID)
		msg := strings.TrimSpace(e.Message)
		if len(msg) > maxMessage {
			msg = strings.ToValidUTF8(msg[:maxMessage], "") + "..."
		}
		events = append(events, EventRecord{ID: e.ID, Provider: e.ProviderName, TimeCreated: e.TimeCreated.Time,
			Level: e.Level, Name: name, Kind: kind, Meaning: meaning, Message: msg})
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].TimeCreated.Before(events[j].TimeCreated) })
	return events, nil
}

// Evaluate judges a set of events: healthy when at least one healthy event
// (31004/31005/31015/31019, or a successful writeback) and no failure was
// logged. Problems names each failure with its documented meaning.
func Evaluate(events []EventRecord) VerifyResult {
	res := VerifyResult{Events: events}
	healthy := false
	for _, e := range events {
		switch e.Kind {
		case EventHealthy:
			healthy = true
		case EventFailure:
			res.Problems = append(res.Problems, fmt.Sprintf("%s %d %s at %s: %s",
				e.Provider, e.ID, e.Name, e.TimeCreated.UTC().Format(time.RFC3339), e.Meaning))
		}
	}
	res.Healthy = healthy && len(res.Problems) == 0
	return res
}
