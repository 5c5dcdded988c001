// Package notify tells people that a rollout needs them or has moved: a
// gate opened, passed or failed, a manual task waits, a step failed, the
// rollout ended. It posts to Microsoft Teams (an Adaptive Card to a
// Workflows or incoming webhook), Slack (an incoming webhook) and e-mail
// (SMTP, STARTTLS required), each with the link to the gate's page.
//
// A notification never blocks or fails a rollout: Send retries each channel
// a few times in the background and reports how each delivery ended, for
// the audit trail. Webhook URLs and SMTP passwords are secrets, resolved
// by the caller and never logged.
package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/smtp"
	"strings"
	"time"
)

// Message is one notification.
type Message struct {
	// Kind is the event kind, e.g. gate.opened.
	Kind    string
	Title   string
	Text    string
	Rollout string
	Tenant  string
	Plan    string
	Stage   string
	Gate    string
	// Link is the gate's page in the approval web app (may be empty).
	Link string
	At   time.Time
}

// Teams posts an Adaptive Card to a Teams Workflows (or incoming) webhook.
type Teams struct{ URL string }

// Slack posts to a Slack incoming webhook.
type Slack struct{ URL string }

// SMTP sends e-mail through a submission server with STARTTLS.
type SMTP struct {
	Addr     string // host:port, e.g. smtp.office365.com:587
	From     string
	To       []string
	Username string
	Password string
	// TLS overrides the TLS settings (a private CA); nil uses the system roots.
	TLS *tls.Config
}

// Channel is one way to reach people.
type Channel interface {
	Name() string
	Deliver(ctx context.Context, m Message) error
}

func (Teams) Name() string { return "teams" }
func (Slack) Name() string { return "slack" }
func (SMTP) Name() string  { return "email" }

// TeamsCard is the webhook body: a message with one Adaptive Card.
func TeamsCard(m Message) ([]byte, error) {
	facts := []map[string]string{{"title": "Rollout", "value": m.Rollout}, {"title": "Tenant", "value": m.Tenant}}
	if m.Stage != "" {
		facts = append(facts, map[string]string{"title": "Stage", "value": m.Stage})
	}
	if m.Gate != "" {
		facts = append(facts, map[string]string{"title": "Gate", "value": m.Gate})
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard", "version": "1.4",
		"body": []any{
			map[string]any{"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": m.Title, "wrap": true},
			map[string]any{"type": "TextBlock", "text": m.Text, "wrap": true},
			map[string]any{"type": "FactSet", "facts": facts},
		},
	}
	if m.Link != "" {
		card["actions"] = []any{map[string]any{"type": "Action.OpenUrl", "title": "Open in ssprflow", "url": m.Link}}
	}
	return marshal(map[string]any{"type": "message", "attachments": []any{map[string]any{
		"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card}}})
}

// SlackMessage is the webhook body: text (for notifications) and blocks.
func SlackMessage(m Message) ([]byte, error) {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	blocks := []any{
		map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": m.Title}},
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": esc.Replace(m.Text)},
			"fields": []any{
				map[string]any{"type": "mrkdwn", "text": "*Rollout*\n" + esc.Replace(m.Rollout)},
				map[string]any{"type": "mrkdwn", "text": "*Tenant*\n" + esc.Replace(m.Tenant)},
			}},
	}
	if m.Link != "" {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": []any{map[string]any{
			"type": "button", "text": map[string]any{"type": "plain_text", "text": "Open in ssprflow"}, "url": m.Link}}})
	}
	return marshal(map[string]any{"text": m.Title + ": " + m.Text, "blocks": blocks})
}

// marshal is indented JSON without HTML escaping (links keep their &).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(v)
	return b.Bytes(), err
}

// Email is the message's RFC 5322 form (plain text).
func Email(from string, to []string, m Message) []byte {
	clean := strings.NewReplacer("\r", " ", "\n", " ")
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: [ssprflow] %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		clean.Replace(from), clean.Replace(strings.Join(to, ", ")), clean.Replace(m.Title), m.At.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "%s\r\n\r\nRollout: %s\r\nTenant: %s\r\n", m.Text, m.Rollout, m.Tenant)
	if m.Gate != "" {
		fmt.Fprintf(&b, "Gate: %s\r\n", m.Gate)
	}
	if m.Link != "" {
		fmt.Fprintf(&b, "\r\nOpen it: %s\r\n", m.Link)
	}
	return b.Bytes()
}

var webhookClient = &http.Client{Timeout: 15 * time.Second}

func post(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return errors.New("bad webhook URL") // the URL is a secret: not in the error
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := webhookClient.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			return fmt.Errorf("webhook unreachable: %w", ue.Unwrap())
		}
		return errors.New("webhook unreachable")
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// Deliver posts the card.
func (t Teams) Deliver(ctx context.Context, m Message) error {
	b, err := TeamsCard(m)
	if err != nil {
		return err
	}
	return post(ctx, t.URL, b)
}

// Deliver posts the message.
func (s Slack) Deliver(ctx context.Context, m Message) error {
	b, err := SlackMessage(m)
	if err != nil {
		return err
	}
	return post(ctx, s.URL, b)
}

// Deliver sends the e-mail; the server must offer STARTTLS.
func (s SMTP) Deliver(ctx context.Context, m Message) error {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("smtp address %q: %w", s.Addr, err)
	}
	d := net.Dialer{Timeout: 15 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return errors.New("smtp: the server offers no STARTTLS: refusing to send in clear")
	}
	tc := s.TLS
	if tc == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tc = tc.Clone()
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	if err := c.StartTLS(tc); err != nil {
		return fmt.Errorf("smtp starttls: %w", err)
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(s.From); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	for _, to := range s.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("smtp rcpt %s: %w", to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if _, err := w.Write(Email(s.From, s.To, m)); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	return c.Quit()
}

// Result is how one delivery ended.
type Result struct {
	Channel  string
	Attempts int
	Err      error
}

// Notifier sends messages on its channels.
type Notifier struct {
	Channels []Channel
	// Attempts per channel (default 3), Backoff between them (default 2 s,
	// doubling).
	Attempts int
	Backoff  time.Duration
	Logger   *slog.Logger
	// Done, when set, receives each delivery's result (for events).
	Done func(m Message, r Result)
}

// Send delivers m on every channel in the background and returns at once.
func (n *Notifier) Send(m Message) {
	for _, ch := range n.Channels {
		go n.deliver(ch, m)
	}
}

func (n *Notifier) deliver(ch Channel, m Message) {
	attempts, backoff := n.Attempts, n.Backoff
	if attempts <= 0 {
		attempts = 3
	}
	if backoff <= 0 {
		backoff = 2 * time.Second
	}
	var err error
	i := 0
	for i = 1; i <= attempts; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = ch.Deliver(ctx, m)
		cancel()
		if err == nil {
			break
		}
		if i < attempts {
			time.Sleep(backoff)
			backoff *= 2
		}
	}
	if i > attempts {
		i = attempts
	}
	if n.Logger != nil {
		if err != nil {
			n.Logger.Warn("notification not delivered", "channel", ch.Name(), "kind", m.Kind, "rollout", m.Rollout, "attempts", i, "err", err)
		} else {
			n.Logger.Info("notification delivered", "channel", ch.Name(), "kind", m.Kind, "rollout", m.Rollout)
		}
	}
	if n.Done != nil {
		n.Done(m, Result{Channel: ch.Name(), Attempts: i, Err: err})
	}
}
