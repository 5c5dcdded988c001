package dial

import (
	"errors"
	"strings"

	"github.com/nats-io/nats.go"
)

// PermissionError returns the connection's last asynchronous error when it
// is the server refusing a publish or subscription on subject: a refused
// publish gets no answer, only this error.
func PermissionError(nc *nats.Conn, subject string) error {
	err := nc.LastError()
	if err != nil && errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `"`+subject+`"`) {
		return err
	}
	return nil
}
