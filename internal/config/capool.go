package config

import (
	"crypto/x509"
	"fmt"
	"os"
)

// CAPool reads a PEM file of CA certificates: the one private CA a
// connection trusts instead of the system roots (a test lab, the tenant
// simulator's identity endpoints, an internal SMTP relay).
func CAPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}
