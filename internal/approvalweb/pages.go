package approvalweb

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"time"
)

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("Mon 2 Jan 2006 15:04 UTC")
	},
	"pct": func(f float64) string { return template.HTMLEscapeString(trimFloat(f)) + "%" },
	"quote": func(s string) string {
		if s == "" {
			return `""`
		}
		return s
	},
}).Parse(`
{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.}} · ssprflow approvals</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
header{background:#1f3b57;color:#fff;padding:.7rem 1.2rem;display:flex;justify-content:space-between;align-items:center}
header a{color:#fff}main{max-width:60rem;margin:1.2rem auto;padding:0 1rem}
section{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:1rem 1.2rem;margin:0 0 1rem}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
.ok{color:#1a7f37}.bad{color:#b42318}.muted{color:#667085}
button{font-size:1rem;padding:.45rem 1.1rem;border-radius:4px;border:1px solid #888;cursor:pointer}
button.approve{background:#1a7f37;color:#fff;border-color:#1a7f37}button.reject{background:#b42318;color:#fff;border-color:#b42318}
textarea{width:100%;min-height:4rem;font:inherit}code{background:#f0f2f4;padding:0 .25rem}
</style></head><body>{{end}}

{{define "bar"}}<header><strong>ssprflow approvals</strong>{{if .S.Person}}<span>{{.S.Name}} ({{.S.Person}})
<form method="post" action="/signout" style="display:inline"><input type="hidden" name="csrf" value="{{.S.CSRF}}"><button id="signout" type="submit">Sign out</button></form></span>{{end}}</header>{{end}}

{{define "signedout"}}{{template "head" "Sign in"}}<header><strong>ssprflow approvals</strong></header><main><section>
<h1>Approvals for SSPR rollouts</h1><p>Sign in with your work account to see what waits for your decision.</p>
<p><a id="signin" href="/signin">Sign in</a></p></section></main></body></html>{{end}}

{{define "error"}}{{template "head" "Error"}}<header><strong>ssprflow approvals</strong></header><main><section>
<p role="alert" class="bad" id="error">{{.Message}}</p><p><a href="/">Back</a> · <a href="/signin">Sign in again</a></p></section></main></body></html>{{end}}

{{define "home"}}{{template "head" "Waiting for me"}}{{template "bar" .}}<main>
<section><h1>Waiting for me</h1>
{{if .Mine}}<table id="mine"><tr><th>Rollout</th><th>Gate</th><th>Approvals</th><th>Expires</th></tr>
{{range .Mine}}<tr><td>{{.State.Plan}} <span class="muted">{{.State.Tenant}}</span></td>
<td><a class="open-gate" href="{{.URL}}">{{if .Gate.Task}}task{{else}}gate{{end}} {{.Gate.Gate}}</a></td>
<td>{{.Gate.Approvals}} of {{.Gate.Quorum}}</td><td>{{when .Gate.ExpiresAt}}</td></tr>{{end}}</table>
{{else}}<p id="nothing">Nothing waits for your decision.</p>{{end}}</section>
{{if .Others}}<section><h2>Open, not yours to decide</h2><table>{{range .Others}}<tr><td>{{.State.Plan}}</td>
<td><a href="{{.URL}}">{{.Gate.Gate}}</a></td><td class="muted">{{.Gate.Why}}</td></tr>{{end}}</table></section>{{end}}
</main></body></html>{{end}}

{{define "gate"}}{{template "head" .Gate.Name}}{{template "bar" .}}<main>
{{with .Verdict}}<section id="verdict" class="{{if .Accepted}}ok{{else}}bad{{end}}"><strong>{{if .Accepted}}Accepted{{else}}Refused{{end}}:</strong> {{.Reason}}</section>{{end}}
<section><h1>{{if .Gate.Task}}Task{{else}}Gate{{end}} <code>{{.Gate.Name}}</code> of {{.State.Plan}}</h1>
<table>
<tr><th>Rollout</th><td><code>{{.State.WorkflowID}}</code> · tenant {{.State.Tenant}} · started by {{.State.StartedBy}} {{when .State.StartedAt}}</td></tr>
<tr><th>Status</th><td id="status">{{.State.Status}} · stage {{.State.Stage}} · gate {{.Gate.Status}}</td></tr>
<tr><th>Stage done</th><td>{{.Gate.Stage}}</td></tr>
<tr><th>Next stage</th><td>{{if .Next}}{{.Next}}{{else}}— (the rollout ends){{end}}</td></tr>
<tr><th>Soak until</th><td>{{when .Gate.SoakUntil}}</td></tr>
<tr><th>Expires</th><td>{{when .Gate.ExpiresAt}} (then the plan's failure policy applies)</td></tr>
<tr><th>Approvals</th><td>{{.Approvals}} of {{.Gate.Quorum}} needed{{range .Gate.Decisions}}<br>{{.Approver}}: {{.Verdict}} {{when .At}} <span class="muted">via {{.Via}}</span>{{if .Comment}} — “{{.Comment}}”{{end}}{{end}}</td></tr>
{{if .Gate.MinCoverage}}<tr><th>Registration</th><td>{{pct .Gate.Coverage}} (needs {{pct .Gate.MinCoverage}})</td></tr>{{end}}
</table></section>
{{if .Gate.Instructions}}<section><h2>Instructions</h2><ol id="instructions">{{range .Gate.Instructions}}<li>{{.}}</li>{{end}}</ol></section>{{end}}
{{if .Coverage}}<section><h2>Registration coverage</h2><table><tr><th>When</th><th>Stage</th><th>Scope</th><th>Registered</th></tr>
{{range .Coverage}}<tr><td>{{when .At}}</td><td>{{.Stage}}</td><td>{{.Scope}}</td><td>{{.Registered}} of {{.Total}} ({{pct .Percent}})</td></tr>{{end}}</table></section>{{end}}
{{if .Next}}<section><h2>What stage {{.Next}} runs</h2><ul>{{range .Members}}<li><code>{{.Name}}</code> {{.Status}}{{if .Detail}} — {{.Detail}}{{end}}</li>{{end}}</ul>
{{if .Changes}}<h3>Settings this rollout changes (read at preflight)</h3><table>{{range .Changes}}<tr><td><code>{{.Field}}</code></td><td>{{quote .From}} → {{quote .To}}</td></tr>{{end}}</table>{{end}}</section>{{end}}
<section id="decide">{{if .Pending.MayDecide}}{{if .Fresh}}
<form method="post" action="/gate"><input type="hidden" name="csrf" value="{{.S.CSRF}}">
<input type="hidden" name="rollout" value="{{.State.WorkflowID}}"><input type="hidden" name="gate" value="{{.Gate.Name}}">
<input type="hidden" name="request" value="{{.Gate.RequestID}}">
<label for="comment">Comment (recorded with your decision)</label><textarea id="comment" name="comment"></textarea>
<p><button class="approve" id="approve" name="verdict" value="approve" type="submit">{{if .Gate.Task}}Confirm done{{else}}Approve{{end}}</button>
<button class="reject" id="reject" name="verdict" value="reject" type="submit">Reject</button></p></form>
{{else}}<p>Your sign-in is not recent: <a href="/signin">sign in again</a> to decide.</p>{{end}}
{{else}}<p id="cannot" class="muted">You cannot decide this: {{if .Pending.Why}}{{.Pending.Why}}{{else}}it is not open{{end}}.</p>{{end}}</section>
<p><a href="/">Back to what waits for me</a></p></main></body></html>{{end}}
`))

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("approval web: render", "page", name, "err", err)
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
