package deploytest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/ssprflow/ssprflow/internal/config"
)

// manifests are deploy/kubernetes's objects, decoded into the Kubernetes
// API's own types.
type manifests struct {
	Deployment *appsv1.Deployment
	ConfigMap  *corev1.ConfigMap
	PDB        *policyv1.PodDisruptionBudget
}

// decodeManifests decodes every document of every file strictly (an
// unknown or misspelt field is an error, as the API server's strict field
// validation makes it) into its kind's typed struct.
func decodeManifests(files map[string][]byte) (*manifests, error) {
	var m manifests
	var errs []error
	for name, raw := range files {
		for i, doc := range bytes.Split(raw, []byte("\n---")) {
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				errs = append(errs, fmt.Errorf("%s[%d]: %w", name, i, err))
				continue
			}
			var obj any
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 Deployment":
				m.Deployment = &appsv1.Deployment{}
				obj = m.Deployment
			case "v1 ConfigMap":
				m.ConfigMap = &corev1.ConfigMap{}
				obj = m.ConfigMap
			case "policy/v1 PodDisruptionBudget":
				m.PDB = &policyv1.PodDisruptionBudget{}
				obj = m.PDB
			default:
				errs = append(errs, fmt.Errorf("%s[%d]: unexpected %s %s", name, i, tm.APIVersion, tm.Kind))
				continue
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				errs = append(errs, fmt.Errorf("%s[%d] %s: %w", name, i, tm.Kind, err))
			}
		}
	}
	return &m, errors.Join(errs...)
}

// validate checks the manifests against each other and against the
// worker: the probes reach the endpoints the ConfigMap's worker.yaml
// serves, every secret it names is provided, and the pod is locked down,
// sized, disruption-budgeted and given time for the graceful shutdown.
func (m *manifests) validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if m.Deployment == nil || m.ConfigMap == nil || m.PDB == nil {
		return errors.New("want a Deployment, a ConfigMap and a PodDisruptionBudget")
	}
	d, pod := m.Deployment, &m.Deployment.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		return fmt.Errorf("deployment: %d containers, want the worker alone", len(pod.Containers))
	}
	c := &pod.Containers[0]

	// The configuration the container runs.
	var cfgPath string
	for i, a := range c.Args {
		if a == "--config" && i+1 < len(c.Args) {
			cfgPath = c.Args[i+1]
		}
	}
	cfgRaw, ok := "", false
	for _, vm := range c.VolumeMounts {
		v := volume(pod, vm.Name)
		if v == nil || v.ConfigMap == nil || v.ConfigMap.Name != m.ConfigMap.Name {
			continue
		}
		if key := vm.SubPath; key != "" && vm.MountPath == cfgPath {
			cfgRaw, ok = m.ConfigMap.Data[key]
		} else if key == "" && path.Dir(cfgPath) == vm.MountPath {
			cfgRaw, ok = m.ConfigMap.Data[path.Base(cfgPath)]
		}
	}
	if !ok {
		return fmt.Errorf("deployment: --config %q is no key of ConfigMap %s mounted in the container", cfgPath, m.ConfigMap.Name)
	}
	cfg, err := config.Parse("configmap.yaml worker.yaml", []byte(cfgRaw))
	if err != nil {
		return err
	}

	// Probes on the endpoints the worker serves.
	healthAddr := cfg.Metrics
	if cfg.Health != nil {
		healthAddr = cfg.Health.Listen
	}
	_, served, err := net.SplitHostPort(healthAddr)
	if healthAddr == "" || err != nil {
		bad("worker.yaml serves no /healthz or /readyz: set health.listen (or metrics)")
	}
	for _, p := range []struct {
		what, path string
		probe      *corev1.Probe
		required   bool
	}{{"livenessProbe", "/healthz", c.LivenessProbe, true}, {"readinessProbe", "/readyz", c.ReadinessProbe, true}, {"startupProbe", "/healthz", c.StartupProbe, false}} {
		switch {
		case p.probe == nil && p.required:
			bad("deployment: no %s", p.what)
		case p.probe == nil:
		case p.probe.HTTPGet == nil:
			bad("deployment: %s is not an httpGet of %s", p.what, p.path)
		case p.probe.HTTPGet.Path != p.path:
			bad("deployment: %s gets %s; the worker serves %s", p.what, p.probe.HTTPGet.Path, p.path)
		default:
			port := containerPort(c, p.probe.HTTPGet.Port)
			if strconv.Itoa(int(port)) != served {
				bad("deployment: %s on port %s (%d), but worker.yaml serves the probes on %s", p.what, p.probe.HTTPGet.Port.String(), port, healthAddr)
			}
		}
	}
	if p := c.ReadinessProbe; p != nil && p.TimeoutSeconds > 0 && p.TimeoutSeconds < 4 {
		bad("deployment: readinessProbe timeoutSeconds %d: a readiness check may take up to 3 s (Temporal, the streams)", p.TimeoutSeconds)
	}

	// Every secret worker.yaml names is there.
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	for _, s := range secretRefs(cfg) {
		switch {
		case s.Env != "":
			e, ok := env[s.Env]
			if !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				bad("deployment: worker.yaml reads $%s, which the container does not take from a Secret (env valueFrom.secretKeyRef)", s.Env)
			}
		case s.File != "":
			if !fromSecret(pod, c, s.File) {
				bad("deployment: worker.yaml reads %s, which is in no Secret volume mounted in the container", s.File)
			}
		}
	}

	// Locked down.
	psc, sc := pod.SecurityContext, c.SecurityContext
	nonRoot := (sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (sc == nil || sc.RunAsNonRoot == nil) && psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
	if !nonRoot {
		bad("deployment: runAsNonRoot is not true")
	}
	for _, uid := range []*int64{uidOf(psc), uidOfC(sc)} {
		if uid != nil && *uid == 0 {
			bad("deployment: runAsUser 0")
		}
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		bad("deployment: the container's securityContext must set allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities.drop: [ALL]")
	}
	if strings.HasSuffix(c.Image, ":latest") || !strings.Contains(c.Image, ":") && !strings.Contains(c.Image, "@") {
		bad("deployment: image %s: pin a tag or digest", c.Image)
	}

	// Sized.
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			bad("deployment: no %s request", r)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		bad("deployment: no memory limit")
	}

	// Graceful shutdown fits in the grace period.
	grace := int64(30)
	if pod.TerminationGracePeriodSeconds != nil {
		grace = *pod.TerminationGracePeriodSeconds
	}
	if need := int64(cfg.ShutdownTimeout.Seconds()) + 10; grace < need {
		bad("deployment: terminationGracePeriodSeconds %d, but worker.yaml shutdownTimeout is %v: give it at least %d (the kubelet SIGKILLs the worker at the end of the grace period)", grace, cfg.ShutdownTimeout, need)
	}

	// Two or more workers, and a budget that keeps one.
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		bad("deployment: replicas below 2: a single worker leaves the task queue without a poller at every restart")
	}
	podLabels := labels.Set(d.Spec.Template.Labels)
	if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || !sel.Matches(podLabels) {
		bad("deployment: selector %v does not match the pod labels %v", d.Spec.Selector, podLabels)
	}
	if sel, err := metav1.LabelSelectorAsSelector(m.PDB.Spec.Selector); err != nil || sel.Empty() || !sel.Matches(podLabels) {
		bad("pdb: selector %v does not select the worker pods %v", m.PDB.Spec.Selector, podLabels)
	}
	switch pdb := m.PDB.Spec; {
	case pdb.MinAvailable != nil && pdb.MinAvailable.Type == intstr.Int && d.Spec.Replicas != nil && (pdb.MinAvailable.IntVal < 1 || pdb.MinAvailable.IntVal >= *d.Spec.Replicas):
		bad("pdb: minAvailable %d with %d replicas: keep at least one worker and let a drain take one", pdb.MinAvailable.IntVal, *d.Spec.Replicas)
	case pdb.MinAvailable == nil && pdb.MaxUnavailable == nil:
		bad("pdb: neither minAvailable nor maxUnavailable")
	}
	return errors.Join(errs...)
}

func volume(pod *corev1.PodSpec, name string) *corev1.Volume {
	for i := range pod.Volumes {
		if pod.Volumes[i].Name == name {
			return &pod.Volumes[i]
		}
	}
	return nil
}

func containerPort(c *corev1.Container, p intstr.IntOrString) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	return 0
}

// fromSecret reports whether file is inside a Secret volume mounted in c.
func fromSecret(pod *corev1.PodSpec, c *corev1.Container, file string) bool {
	for _, vm := range c.VolumeMounts {
		if v := volume(pod, vm.Name); v != nil && v.Secret != nil && strings.HasPrefix(file, strings.TrimSuffix(vm.MountPath, "/")+"/") {
			return true
		}
	}
	return false
}

func uidOf(s *corev1.PodSecurityContext) *int64 {
	if s == nil {
		return nil
	}
	return s.RunAsUser
}

func uidOfC(s *corev1.SecurityContext) *int64 {
	if s == nil {
		return nil
	}
	return s.RunAsUser
}

// secretRefs collects every secret reference in cfg, and every TLS file
// (keys and certificates are mounted from Secrets too) as a file reference.
func secretRefs(cfg *config.Config) []config.Secret {
	var out []config.Secret
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Struct:
			switch s := v.Interface().(type) {
			case config.Secret:
				if !s.IsZero() {
					out = append(out, s)
				}
				return
			case config.TLS:
				for _, f := range []string{s.CAFile, s.CertFile, s.KeyFile} {
					if f != "" {
						out = append(out, config.Secret{File: f})
					}
				}
				return
			}
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		}
	}
	walk(reflect.ValueOf(cfg))
	return out
}

func readManifests(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(deployDir, "kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no deploy/kubernetes/*.yaml: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// TestKubernetesManifests: deploy/kubernetes decodes strictly into the
// Kubernetes API types and passes validate; each broken variant (one
// mistake each) fails it with the mistake named, so the check can fail.
func TestKubernetesManifests(t *testing.T) {
	files := readManifests(t)
	good, err := decodeManifests(files)
	if err != nil {
		t.Fatal(err)
	}
	if err := good.validate(); err != nil {
		t.Fatalf("deploy/kubernetes:\n%v", err)
	}
	editConfig := func(old, new string) func(*manifests) {
		return func(m *manifests) {
			m.ConfigMap.Data["worker.yaml"] = strings.Replace(m.ConfigMap.Data["worker.yaml"], old, new, 1)
		}
	}
	for _, tc := range []struct {
		name    string
		raw     func(map[string][]byte) // breaks a file before decoding
		typed   func(*manifests)        // or the decoded objects
		wantErr string
	}{
		{name: "misspelt field", raw: func(f map[string][]byte) {
			f["deployment.yaml"] = bytes.Replace(f["deployment.yaml"], []byte("readinessProbe:"), []byte("readynessProbe:"), 1)
		}, wantErr: `unknown field "readynessProbe"`},
		{name: "readiness on a path the worker does not serve", typed: func(m *manifests) {
			m.Deployment.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Path = "/ready"
		}, wantErr: "readinessProbe gets /ready; the worker serves /readyz"},
		{name: "liveness on the metrics port while health has its own", typed: func(m *manifests) {
			m.Deployment.Spec.Template.Spec.Containers[0].LivenessProbe.HTTPGet.Port = intstr.FromString("metrics")
		}, wantErr: "livenessProbe on port metrics (9090), but worker.yaml serves the probes on 0.0.0.0:8081"},
		{name: "health moved in worker.yaml only", typed: editConfig(`health: {listen: "0.0.0.0:8081"}`, `health: {listen: "0.0.0.0:8082"}`),
			wantErr: "readinessProbe on port health (8081), but worker.yaml serves the probes on 0.0.0.0:8082"},
		{name: "worker.yaml invalid", typed: editConfig("replicas: 3", "replicas: 9"), wantErr: "nats.streams.replicas 9"},
		{name: "secret env not provided", typed: func(m *manifests) {
			c := &m.Deployment.Spec.Template.Spec.Containers[0]
			c.Env = c.Env[1:]
		}, wantErr: "worker.yaml reads $SSPRFLOW_NATS_PASSWORD"},
		{name: "key file outside the secret volumes", typed: editConfig("/run/secrets/ssprflow/signing-s1", "/etc/ssprflow/signing-s1"),
			wantErr: "worker.yaml reads /etc/ssprflow/signing-s1, which is in no Secret volume"},
		{name: "runs as root", typed: func(m *manifests) {
			f, zero := false, int64(0)
			m.Deployment.Spec.Template.Spec.SecurityContext.RunAsNonRoot = &f
			m.Deployment.Spec.Template.Spec.SecurityContext.RunAsUser = &zero
		}, wantErr: "runAsNonRoot is not true"},
		{name: "writable root filesystem", typed: func(m *manifests) {
			f := false
			m.Deployment.Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = &f
		}, wantErr: "readOnlyRootFilesystem: true"},
		{name: "no memory limit", typed: func(m *manifests) {
			delete(m.Deployment.Spec.Template.Spec.Containers[0].Resources.Limits, corev1.ResourceMemory)
		}, wantErr: "no memory limit"},
		{name: "grace shorter than the shutdown", typed: func(m *manifests) {
			g := int64(15)
			m.Deployment.Spec.Template.Spec.TerminationGracePeriodSeconds = &g
		}, wantErr: "terminationGracePeriodSeconds 15, but worker.yaml shutdownTimeout is 20s"},
		{name: "one worker", typed: func(m *manifests) {
			one := int32(1)
			m.Deployment.Spec.Replicas = &one
		}, wantErr: "replicas below 2"},
		{name: "budget selects nothing", typed: func(m *manifests) {
			m.PDB.Spec.Selector.MatchLabels = map[string]string{"app.kubernetes.io/name": "ssprflow-wrker"}
		}, wantErr: "pdb: selector"},
		{name: "config not mounted", typed: func(m *manifests) {
			m.Deployment.Spec.Template.Spec.Containers[0].Args = []string{"--config", "/etc/worker.yaml"}
		}, wantErr: `--config "/etc/worker.yaml" is no key of ConfigMap`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := map[string][]byte{}
			for k, v := range files {
				f[k] = bytes.Clone(v)
			}
			if tc.raw != nil {
				tc.raw(f)
			}
			m, err := decodeManifests(f)
			if err == nil {
				if tc.typed != nil {
					tc.typed(m)
				}
				err = m.validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}
