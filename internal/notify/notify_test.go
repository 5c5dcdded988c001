package notify

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"flag"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var gateOpened = Message{Kind: "gate.opened", Title: "Gate pilot waits for your decision",
	Text:    "Stage pilot is done: 5 members, registration 100% (needs 60%). Approve before Mon 7 Dec 2026 10:00 UTC.",
	Rollout: "sspr/contoso_onmicrosoft_com/sspr-pilot", Tenant: "contoso.onmicrosoft.com", Plan: "sspr-pilot", Stage: "pilot", Gate: "pilot",
	Link: "https://approvals.contoso.com/gate?gate=pilot&rollout=sspr%2Fcontoso_onmicrosoft_com%2Fsspr-pilot",
	At:   time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}

func TestGoldenBodies(t *testing.T) {
	for name, body := range map[string]func(Message) ([]byte, error){"teams-card.json": TeamsCard, "slack-message.json": SlackMessage} {
		got, err := body(gateOpened)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from the golden file (go test -run TestGoldenBodies -update):\n%s", name, got)
		}
	}
}

// TestWebhooks: Teams and Slack bodies arrive at a local receiver; a
// webhook that fails is retried, then reported, and Send never blocks.
func TestWebhooks(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{}
	failures := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/broken" {
			failures++
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		got[r.URL.Path] = string(b)
	}))
	defer srv.Close()
	results := make(chan Result, 3)
	n := &Notifier{Channels: []Channel{Teams{URL: srv.URL + "/teams"}, Slack{URL: srv.URL + "/slack"}, Teams{URL: srv.URL + "/broken"}},
		Attempts: 3, Backoff: 10 * time.Millisecond, Done: func(_ Message, r Result) { results <- r }}
	start := time.Now()
	n.Send(gateOpened)
	if time.Since(start) > 50*time.Millisecond {
		t.Errorf("Send blocked for %s", time.Since(start))
	}
	var failed []Result
	for range 3 {
		select {
		case r := <-results:
			if r.Err != nil {
				failed = append(failed, r)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a delivery never ended")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(got["/teams"], "application/vnd.microsoft.card.adaptive") || !strings.Contains(got["/teams"], gateOpened.Link) {
		t.Errorf("teams body: %s", got["/teams"])
	}
	if !strings.Contains(got["/slack"], `"blocks"`) || !strings.Contains(got["/slack"], gateOpened.Link) {
		t.Errorf("slack body: %s", got["/slack"])
	}
	if len(failed) != 1 || failed[0].Attempts != 3 || failures != 3 || !strings.Contains(failed[0].Err.Error(), "500") {
		t.Errorf("broken webhook: %+v, %d posts", failed, failures)
	}
	if strings.Contains(failed[0].Err.Error(), srv.URL) {
		t.Error("the error names the webhook URL (a secret)")
	}
}

// smtpServer is a minimal submission server with STARTTLS and AUTH PLAIN.
func smtpServer(t *testing.T, offerTLS bool) (addr string, pool *x509.CertPool, mails chan string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	mails = make(chan string, 4)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSMTP(conn, tlsCfg, offerTLS, mails)
		}
	}()
	return ln.Addr().String(), pool, mails
}

func serveSMTP(conn net.Conn, tlsCfg *tls.Config, offerTLS bool, mails chan string) {
	defer conn.Close()
	r, w := bufio.NewReader(conn), conn
	say := func(s string) { io.WriteString(w, s+"\r\n") }
	say("220 test ESMTP")
	secure, authed := false, false
	var data strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			if offerTLS && !secure {
				say("250-test\r\n250 STARTTLS")
			} else {
				say("250-test\r\n250 AUTH PLAIN")
			}
		case cmd == "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(conn, tlsCfg)
			if tc.Handshake() != nil {
				return
			}
			conn, secure = tc, true
			r, w = bufio.NewReader(tc), tc
		case strings.HasPrefix(cmd, "AUTH PLAIN"):
			raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(line)[len("AUTH PLAIN "):])
			if secure && string(raw) == "\x00ssprflow\x00s3cret" {
				authed = true
				say("235 ok")
			} else {
				say("535 no")
			}
		case strings.HasPrefix(cmd, "MAIL FROM"), strings.HasPrefix(cmd, "RCPT TO"):
			if !authed {
				say("530 auth first")
				continue
			}
			say("250 ok")
		case cmd == "DATA":
			say("354 go")
			for {
				l, err := r.ReadString('\n')
				if err != nil || l == ".\r\n" {
					break
				}
				data.WriteString(l)
			}
			mails <- data.String()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func TestEmail(t *testing.T) {
	addr, pool, mails := smtpServer(t, true)
	s := SMTP{Addr: addr, From: "ssprflow@contoso.com", To: []string{"security-lead@contoso.com"}, Username: "ssprflow", Password: "s3cret",
		TLS: &tls.Config{RootCAs: pool}}
	if err := s.Deliver(context.Background(), gateOpened); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-mails:
		for _, want := range []string{"Subject: [ssprflow] Gate pilot waits for your decision", "To: security-lead@contoso.com", gateOpened.Link} {
			if !strings.Contains(m, want) {
				t.Errorf("mail lacks %q:\n%s", want, m)
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no mail arrived")
	}
	// A server without STARTTLS gets nothing: no password in clear.
	plain, _, none := smtpServer(t, false)
	s.Addr = plain
	if err := s.Deliver(context.Background(), gateOpened); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("server without STARTTLS: %v", err)
	}
	select {
	case m := <-none:
		t.Fatalf("sent in clear: %s", m)
	default:
	}
}
