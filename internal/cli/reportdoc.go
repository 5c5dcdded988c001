package cli

import (
	"fmt"
	htmltemplate "html/template"
	"io"
	"strings"
	"text/template"
	"time"

	"github.com/ssprflow/ssprflow/workflows"
)

// The report as a document a change manager attaches to the ticket: HTML
// (self-contained: inline style, no script, no external asset) or
// Markdown. Both are made from one view of the state.

type reportView struct {
	St        workflows.State
	Status    string
	Duration  string
	Generated string
	Changes   []reportChange
	Decisions []reportDecision
	Coverage  []workflows.Coverage
	Human     []workflows.Step
}

type reportChange struct {
	Seq                 int
	Stage, Kind, Change string
	Undo                string
}

type reportDecision struct {
	Gate, Verdict, Approver, Via, Comment, At string
}

func newReportView(st workflows.State, now time.Time) reportView {
	end := st.EndedAt
	if end.IsZero() {
		end = now
	}
	v := reportView{St: st, Status: strings.ToUpper(string(st.Status)), Duration: round(end.Sub(st.StartedAt)), Generated: stamp(now)}
	for _, c := range st.Changes {
		rc := reportChange{Seq: c.Seq, Stage: c.Stage, Kind: string(c.Kind), Change: changeSummary(c)}
		if c.Compensation != nil {
			rc.Undo = string(c.Compensation.Status) + ": " + c.Compensation.Detail
		}
		v.Changes = append(v.Changes, rc)
	}
	for _, g := range st.Gates {
		for _, d := range g.Decisions {
			v.Decisions = append(v.Decisions, reportDecision{Gate: g.Name, Verdict: string(d.Verdict), Approver: d.Approver, Via: d.Via, Comment: d.Comment, At: stamp(d.At)})
		}
	}
	v.Coverage = st.Coverage
	for _, s := range st.Steps {
		if s.Status == workflows.StepConflict || s.Status == workflows.StepNeedsHuman || s.Status == workflows.StepFailed {
			v.Human = append(v.Human, s)
		}
	}
	return v
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

var reportFuncs = map[string]any{
	"stamp": stamp,
	"pct":   func(f float64) string { return fmt.Sprintf("%.1f%%", f) },
	"md": func(s string) string {
		return strings.NewReplacer("|", `\|`, "\n", " ", "*", `\*`, "_", `\_`, "`", "'").Replace(s)
	},
}

var reportHTML = htmltemplate.Must(htmltemplate.New("report").Funcs(reportFuncs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ssprflow report {{.St.WorkflowID}}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;max-width:64rem;margin:2rem auto;color:#1b1f24;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #d8dee4}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
.SUCCEEDED{color:#1a7f37}.FAILED,.ROLLED-BACK,.CANCELLED,.TERMINATED{color:#b42318}code{background:#f0f2f4;padding:0 .2rem}
.muted{color:#667085}.t{white-space:nowrap}</style></head><body>
<h1>SSPR rollout report: <code>{{.St.WorkflowID}}</code></h1>
<table>
<tr><th>Result</th><td class="{{.Status}}"><strong>{{.Status}}</strong> in {{.Duration}}</td></tr>
<tr><th>Plan / tenant</th><td>{{.St.Plan}} · {{.St.Tenant}}{{if .St.TenantID}} (id {{.St.TenantID}}){{end}}</td></tr>
<tr><th>Started</th><td>{{stamp .St.StartedAt}} by {{.St.StartedBy}}{{if .St.StartedByVerified}} (verified, {{.St.StartedVia}}){{else}} (not verified){{end}}</td></tr>
<tr><th>Ended</th><td>{{stamp .St.EndedAt}}</td></tr>
{{if .St.LastError}}<tr><th>Last error</th><td>{{.St.LastError}}</td></tr>{{end}}
</table>
{{with .St.Preflight}}<h2>Preflight</h2><ul>{{range .Warnings}}<li>warning: {{.}}</li>{{end}}{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>Changes made</h2>{{if .Changes}}<table><tr><th>#</th><th>Stage</th><th>Kind</th><th>Change (before → after)</th><th>Undo</th></tr>
{{range .Changes}}<tr><td>{{.Seq}}</td><td>{{.Stage}}</td><td>{{.Kind}}</td><td>{{.Change}}</td><td class="muted">{{.Undo}}</td></tr>{{end}}</table>{{else}}<p>None.</p>{{end}}
<h2>Approvals</h2>{{if .Decisions}}<table><tr><th>Gate</th><th>Decision</th><th>By</th><th>Via</th><th>At</th><th>Comment</th></tr>
{{range .Decisions}}<tr><td>{{.Gate}}</td><td>{{.Verdict}}</td><td>{{.Approver}}</td><td class="muted">{{.Via}}</td><td>{{.At}}</td><td>{{.Comment}}</td></tr>{{end}}</table>{{else}}<p>None.</p>{{end}}
<h2>Registration coverage</h2>{{if .Coverage}}<table><tr><th>At</th><th>Stage</th><th>Scope</th><th>Registered</th><th>SSPR-capable</th></tr>
{{range .Coverage}}<tr><td>{{stamp .At}}</td><td>{{.Stage}}</td><td>{{.Scope}}</td><td>{{.Registered}} of {{.Total}} ({{pct .Percent}})</td><td>{{.Capable}}</td></tr>{{end}}</table>{{else}}<p>Not measured.</p>{{end}}
<h2>Steps and timings</h2><table><tr><th>Stage</th><th>Step</th><th>Status</th><th>Started</th><th>Ended</th><th>Detail</th></tr>
{{range .St.Steps}}<tr><td>{{.Stage}}</td><td>{{.Name}}</td><td>{{.Status}}</td><td class="t">{{stamp .StartedAt}}</td><td class="t">{{stamp .EndedAt}}</td><td>{{if .Error}}{{.Error}}{{else}}{{.Detail}}{{end}}</td></tr>{{end}}</table>
<h2>Needs a human</h2>{{if .Human}}<ul>{{range .Human}}<li>{{.Stage}}/{{.Name}} ({{.Status}}): {{if .Error}}{{.Error}}{{else}}{{.Detail}}{{end}}</li>{{end}}</ul>{{else}}<p>Nothing.</p>{{end}}
<p class="muted">Generated {{.Generated}} by ssprflow from the rollout's recorded state.</p>
</body></html>
`))

var reportMarkdown = template.Must(template.New("report").Funcs(reportFuncs).Parse(`# SSPR rollout report: ` + "`{{.St.WorkflowID}}`" + `

| | |
|---|---|
| Result | **{{.Status}}** in {{.Duration}} |
| Plan / tenant | {{md .St.Plan}} · {{md .St.Tenant}}{{if .St.TenantID}} (id {{.St.TenantID}}){{end}} |
| Started | {{stamp .St.StartedAt}} by {{md .St.StartedBy}}{{if .St.StartedByVerified}} (verified){{else}} (not verified){{end}} |
| Ended | {{stamp .St.EndedAt}} |
{{if .St.LastError}}| Last error | {{md .St.LastError}} |
{{end}}
## Changes made
{{if .Changes}}
| # | Stage | Kind | Change (before → after) | Undo |
|---|---|---|---|---|
{{range .Changes}}| {{.Seq}} | {{md .Stage}} | {{md .Kind}} | {{md .Change}} | {{md .Undo}} |
{{end}}{{else}}
None.
{{end}}
## Approvals
{{if .Decisions}}
| Gate | Decision | By | Via | At | Comment |
|---|---|---|---|---|---|
{{range .Decisions}}| {{md .Gate}} | {{.Verdict}} | {{md .Approver}} | {{md .Via}} | {{.At}} | {{md .Comment}} |
{{end}}{{else}}
None.
{{end}}
## Registration coverage
{{if .Coverage}}
| At | Stage | Scope | Registered |
|---|---|---|---|
{{range .Coverage}}| {{stamp .At}} | {{md .Stage}} | {{md .Scope}} | {{.Registered}} of {{.Total}} ({{pct .Percent}}) |
{{end}}{{else}}
Not measured.
{{end}}
## Needs a human
{{if .Human}}{{range .Human}}- {{md .Stage}}/{{.Name}} ({{.Status}}): {{if .Error}}{{md .Error}}{{else}}{{md .Detail}}{{end}}
{{end}}{{else}}
Nothing.
{{end}}
_Generated {{.Generated}} by ssprflow from the rollout's recorded state._
`))

// RenderReportDocument writes the report as "html" or "markdown".
func RenderReportDocument(w io.Writer, st workflows.State, format string, now time.Time) error {
	v := newReportView(st, now)
	switch format {
	case "html":
		return reportHTML.Execute(w, v)
	case "markdown", "md":
		return reportMarkdown.Execute(w, v)
	}
	return fmt.Errorf("unknown report format %q: want text, html or markdown", format)
}
