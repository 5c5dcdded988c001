package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/cli"
	"github.com/ssprflow/ssprflow/internal/entrasim"
	"github.com/ssprflow/ssprflow/internal/localstack"
	"github.com/ssprflow/ssprflow/internal/plan"
	"github.com/ssprflow/ssprflow/workflows"
)

// BenchmarkRolloutQuotaFloor rolls SSPR out to an organisation on the real
// stack with the simulator enforcing Graph's documented budgets for a small
// tenant (--quota realistic) and the worker pacing itself by them: waves by
// group (All-Sales and Sales 'EU', transitive), by an HR file of half the
// users, by a filter (department eq 'Engineering') and by a percentage, then
// all users. Against its wall time stands the quota floor computed from the
// requests the same run made: for each budget, the start of the last fixed
// window its requests need, (ceil(n/limit)-1) x window, on the simulator's
// clock; the floor is the largest. Also: requests per 1,000 members added,
// 429s, the worker process's peak RSS and the history's size.
//
// Sizes: SSPRFLOW_BENCH_SIZES (default "20000,100000" users); clock:
// SSPRFLOW_BENCH_TIMESCALE (default 1, real time: the budgets' windows are
// Graph's own). Run with -benchtime 1x.
func BenchmarkRolloutQuotaFloor(b *testing.B) {
	sizes := []int{20000, 100000}
	if v := os.Getenv("SSPRFLOW_BENCH_SIZES"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1000 {
				b.Fatalf("SSPRFLOW_BENCH_SIZES: %q is not a number of users >= 1000", f)
			}
			sizes = append(sizes, n)
		}
	}
	scale := 1.0
	if v, err := strconv.ParseFloat(os.Getenv("SSPRFLOW_BENCH_TIMESCALE"), 64); err == nil && v > 0 {
		scale = v
	}
	for _, users := range sizes {
		b.Run(fmt.Sprintf("users=%d", users), func(b *testing.B) {
			for range b.N {
				benchRollout(b, users, scale)
			}
		})
	}
}

func benchRollout(b *testing.B, users int, scale float64) {
	b.StopTimer()
	e := newEnvWith(b, localstack.StackOptions{Users: users, TimeScale: scale, Quota: entrasim.DefaultQuota})
	csv := filepath.Join(e.dir, "hr.csv")
	width := max(4, len(strconv.Itoa(users)))
	writeWave(b, csv, users/5+1, users/5+users/2, width)
	p := e.plan(func(p *plan.Rollout) {
		p.Spec.Directory = nil
		p.Spec.MissingMembers = plan.MissingMembersContinue // guests' UPNs differ (#EXT#)
		p.Spec.DefaultGate = nil
		p.Spec.Exclude.Groups = []string{entrasim.BreakGlassGroup}
		admins := true
		p.Spec.Exclude.Admins = &admins
		pilot := p.Spec.Stages[0]
		pilot.Gate = nil
		p.Spec.Stages = []plan.Stage{
			pilot,
			{Name: "sales", Select: &plan.Selection{Groups: []string{"All-Sales", "Sales 'EU'"}}},
			{Name: "hr-list", Select: &plan.Selection{File: "hr.csv"}},
			{Name: "engineering", Select: &plan.Selection{Filter: "department eq 'Engineering'"}},
			{Name: "next-quarter", Select: &plan.Selection{Percent: 25}},
			{Name: "all", All: true},
		}
	})
	worker := e.startWorkerProcess()
	e.blobStream()
	before := e.stack.Sim.Usage()
	b.StartTimer()
	start := time.Now()
	id := e.startFile(p, filepath.Join(e.dir, "plan.yaml"))
	st := e.wait(id, 2*time.Hour, ended)
	wall := time.Since(start)
	b.StopTimer()
	if st.Status != workflows.StatusSucceeded {
		b.Fatalf("rollout %s: %s (%s)", id, st.Status, st.LastError)
	}
	rssKiB, err := vmHWM(strconv.Itoa(worker.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	rss := rssKiB << 10
	used := e.stack.Sim.Usage()
	used.DirectoryRU -= before.DirectoryRU
	used.Writes -= before.Writes
	used.Reports -= before.Reports
	used.Throttled -= before.Throttled

	added := 0
	for _, w := range e.stack.Sim.MemberWrites("contoso.onmicrosoft.com", st.GroupID) {
		added += w.Added
	}
	q := entrasim.DefaultQuota
	floor := max(
		windowsFloor(used.DirectoryRU, q.DirectoryRU, 10*time.Second),
		windowsFloor(used.Writes, q.Writes, 150*time.Second),
		windowsFloor(used.Reports, q.Reports, 10*time.Second))
	floor = time.Duration(float64(floor) / scale)
	h, err := cli.History(context.Background(), e.tc, id, st.RunID)
	if err != nil {
		b.Fatal(err)
	}
	// Writes by shape, to see where they went beyond the bulk adds.
	shapes := map[string]int{}
	refused := 0
	for _, a := range e.stack.Sim.Audit() {
		if a.Status >= 400 && refused < 4 {
			refused++
			b.Logf("refused write: %s %s %d %.300s", a.Method, a.Path, a.Status, a.Body)
		}
		shapes[fmt.Sprintf("%s %s %d", a.Method, guidPattern.ReplaceAllString(a.Path, "{id}"), a.Status)]++
	}
	b.Logf("writes by shape: %v", shapes)
	for _, s := range st.Steps {
		if s.Name == workflows.StepMembers {
			b.Logf("%s: %s", s.Stage, s.Detail)
		}
	}
	requests := used.DirectoryRU + used.Reports
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(floor.Seconds(), "floor-s")
	if floor > 0 {
		b.ReportMetric(wall.Seconds()/floor.Seconds(), "wall/floor")
	}
	b.ReportMetric(float64(added), "added")
	b.ReportMetric(float64(requests)*1000/math.Max(1, float64(added)), "req/1k-added")
	b.ReportMetric(float64(used.Throttled), "429s")
	b.ReportMetric(float64(rss)/(1<<20), "worker-peak-RSS-MiB")
	b.ReportMetric(float64(h.Bytes), "history-B")
	b.Logf("%d users, time scale %g: wall %s, floor %s (RU %d/%d per 10 s, writes %d/%d per 150 s, reports %d/%d per 10 s), %d added, %d requests, %d 429s, worker peak RSS %d MiB, history %d B in %d events",
		users, scale, wall.Round(time.Millisecond), floor.Round(time.Millisecond), used.DirectoryRU, q.DirectoryRU, used.Writes, q.Writes,
		used.Reports, q.Reports, added, requests, used.Throttled, rss>>20, h.Bytes, h.Events)
}

var guidPattern = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// windowsFloor is when the last of n requests may start at the earliest
// under a budget of limit per fixed window.
func windowsFloor(n, limit int, window time.Duration) time.Duration {
	if n <= 0 || limit <= 0 {
		return 0
	}
	return time.Duration((n-1)/limit) * window
}
