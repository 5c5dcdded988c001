package entrasim

import (
	"net/http"
	"strings"
)

// The tenant itself: GET /organization, /subscribedSkus (the Entra ID P1
// licence SSPR needs) and /directory/onPremisesSynchronization (read-only:
// writeback cannot be switched on through Graph).

func (s *Server) serveOrganization(w http.ResponseWriter, r *http.Request, t *tenant, c claims) {
	if !readable(w, r, c, true, permOrgRead...) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": metadata + "organization",
		"value": []any{map[string]any{
			"id":                    t.id,
			"deletedDateTime":       nil,
			"displayName":           t.name,
			"tenantType":            "AAD",
			"countryLetterCode":     "US",
			"preferredLanguage":     "en",
			"onPremisesSyncEnabled": true,
			"createdDateTime":       "2020-01-01T00:00:00Z",
			"verifiedDomains": []any{map[string]any{
				"capabilities": "Email, OfficeCommunicationsOnline",
				"isDefault":    true,
				"isInitial":    true,
				"name":         t.domain,
				"type":         "Managed",
			}},
		}},
	})
}

// Well-known licence ids (public: Microsoft's product names and service plan
// identifiers list).
const (
	skuAADPremium      = "078d2b04-f1bd-4111-bbd4-b4b1b354cef4"
	planAADPremium     = "41781fb2-bc02-4b7c-bd55-b576c07bb09d"
	skuEnterprisePack  = "6fd2c87f-b296-42f0-b197-1e91e994b900"
	planExchangeStd    = "efb87545-963c-4e0d-99df-69c6916d9eb0"
	planSharePointStd  = "5dbe027f-2339-4123-9542-606e4d348a72"
	licenceUnitsPrepay = 1000
)

func (s *Server) serveSkus(w http.ResponseWriter, r *http.Request, t *tenant, c claims) {
	if !readable(w, r, c, true, permOrgRead...) {
		return
	}
	sku := func(skuID, part string, plans ...[2]string) map[string]any {
		sp := make([]any, 0, len(plans))
		for _, p := range plans {
			sp = append(sp, map[string]any{"servicePlanId": p[0], "servicePlanName": p[1], "provisioningStatus": "Success", "appliesTo": "User"})
		}
		return map[string]any{
			"accountName":      t.name,
			"accountId":        t.id,
			"appliesTo":        "User",
			"capabilityStatus": "Enabled",
			"consumedUnits":    min(len(t.users), licenceUnitsPrepay),
			"id":               t.id + "_" + skuID,
			"skuId":            skuID,
			"skuPartNumber":    part,
			"subscriptionIds":  []string{guidFrom(hashString(t.id), hashString(skuID))},
			"prepaidUnits":     map[string]any{"enabled": licenceUnitsPrepay, "suspended": 0, "warning": 0, "lockedOut": 0},
			"servicePlans":     sp,
		}
	}
	value := []any{sku(skuEnterprisePack, "ENTERPRISEPACK", [2]string{planExchangeStd, "EXCHANGE_S_ENTERPRISE"}, [2]string{planSharePointStd, "SHAREPOINTENTERPRISE"})}
	if !t.noPremium {
		value = append(value, sku(skuAADPremium, "AAD_PREMIUM", [2]string{planAADPremium, "AAD_PREMIUM"}))
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": metadata + "subscribedSkus", "value": value})
}

func (s *Server) serveOnPremSync(w http.ResponseWriter, r *http.Request, t *tenant, c claims, rest []string) {
	// Writeback can't be enabled through Graph: the resource is read-only.
	if !readable(w, r, c, false, permOnPrem...) {
		return
	}
	if len(rest) == 1 && !strings.EqualFold(rest[0], t.id) {
		writeError(w, r, http.StatusNotFound, codeNotFound, msgNotFound(rest[0]))
		return
	}
	o := onPremSyncObject(t)
	if len(rest) == 1 {
		writeJSON(w, http.StatusOK, withContext(o, metadata+"directory/onPremisesSynchronization/$entity"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": metadata + "directory/onPremisesSynchronization",
		"value":          []any{o},
	})
}

func onPremSyncObject(t *tenant) map[string]any {
	return map[string]any{
		"id": t.id,
		"configuration": map[string]any{
			"accidentalDeletionPrevention": map[string]any{"synchronizationPreventionType": "enabledForCount", "alertThreshold": 500},
		},
		"features": map[string]any{
			"blockCloudObjectTakeoverThroughHardMatchEnabled":  false,
			"blockSoftMatchEnabled":                            false,
			"bypassDirSyncOverridesEnabled":                    false,
			"cloudPasswordPolicyForPasswordSyncedUsersEnabled": false,
			"concurrentCredentialUpdateEnabled":                false,
			"concurrentOrgIdProvisioningEnabled":               true,
			"deviceWritebackEnabled":                           false,
			"directoryExtensionsEnabled":                       false,
			"fopeConflictResolutionEnabled":                    false,
			"groupWriteBackEnabled":                            false,
			"passwordSyncEnabled":                              true,
			"passwordWritebackEnabled":                         false,
			"quarantineUponProxyAddressesConflictEnabled":      true,
			"quarantineUponUpnConflictEnabled":                 true,
			"softMatchOnUpnEnabled":                            true,
			"synchronizeUpnForManagedUsersEnabled":             true,
			"unifiedGroupWritebackEnabled":                     false,
			"userForcePasswordChangeOnLogonEnabled":            false,
			"userWritebackEnabled":                             false,
		},
	}
}
