// Package deploytest holds no code, only the tests of deploy/: the PKI made
// by deploy/certs.sh (each certificate verifies for its use and for nothing
// else, against the real nats-server and crypto/tls), the shipped
// configuration files (they load, and name the files certs.sh makes), and
// what deploy/docker-compose.yml publishes. Docker itself cannot run here, so
// the compose file is checked as data.
package deploytest
