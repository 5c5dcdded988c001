package entrasim

import (
	"encoding/json"
	"net/http"
	"time"
)

// Graph error codes the simulator answers with.
const (
	codeBadRequest       = "Request_BadRequest"
	codeNotFound         = "Request_ResourceNotFound"
	codeUnsupportedQuery = "Request_UnsupportedQuery"
	codeDenied           = "Authorization_RequestDenied"
	codeInvalidToken     = "InvalidAuthenticationToken"
	codeThrottled        = "TooManyRequests"
	codeUnavailable      = "ServiceNotAvailable"
	codeGatewayTimeout   = "GatewayTimeout"
	codeMethodNotAllowed = "Request_MethodNotAllowed"
)

const msgDenied = "Insufficient privileges to complete the operation."

func msgNotFound(id string) string {
	return "Resource '" + id + "' does not exist or one of its queried reference-property objects are not present."
}

type odataError struct {
	Error odataErrorBody `json:"error"`
}

type odataErrorBody struct {
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	InnerError innerError `json:"innerError"`
}

type innerError struct {
	Date            string `json:"date"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id"`
}

// writeError writes Graph's OData error body. message is never empty: the Go
// SDK dereferences it without a nil check.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	if message == "" {
		message = http.StatusText(status)
	}
	body := odataError{Error: odataErrorBody{
		Code:    code,
		Message: message,
		InnerError: innerError{
			Date:            time.Now().UTC().Format("2006-01-02T15:04:05"),
			RequestID:       w.Header().Get("request-id"),
			ClientRequestID: w.Header().Get("client-request-id"),
		},
	}}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
