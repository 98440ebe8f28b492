// render: renders a Helm chart the way `helm template` does, for tests on machines without helm.
//
// It uses the engine Helm itself uses, Go's text/template with sprig, plus Helm's own functions
// (include, tpl, required, toYaml, fromYaml, toJson, fromJson, lookup) and objects (.Values,
// .Release, .Chart, .Capabilities, .Template, .Files). Values are chart values.yaml deep-merged
// with each --values file in turn (a null removes a key), and typed as Helm types them: numbers
// are float64, as they come out of Helm's YAML-through-JSON parsing. lookup finds nothing, as in
// `helm template`, unless --existing names a YAML file of the objects the cluster holds (an
// upgrade, as `helm upgrade` sees it).
//
// Build (Debian: golang-go, golang-github-masterminds-sprig-dev, golang-gopkg-yaml.v3-dev):
//   GO111MODULE=off GOPATH=/usr/share/gocode go build -o render test/helm/render.go
// Use:
//   render --chart deploy/helm/mcpmux [--values f.yaml]... [--release r] [--namespace ns]
//          [--existing objects.yaml] [--notes]
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type valueFiles []string

func (v *valueFiles) String() string     { return strings.Join(*v, ",") }
func (v *valueFiles) Set(s string) error { *v = append(*v, s); return nil }

type apiVersions []string

func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

type files struct{ root string }

func (f files) Get(name string) string {
	b, err := os.ReadFile(filepath.Join(f.root, name))
	if err != nil {
		return ""
	}
	return string(b)
}
func (f files) GetBytes(name string) []byte { return []byte(f.Get(name)) }

func main() {
	chartDir := flag.String("chart", "", "chart directory")
	release := flag.String("release", "release-name", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	notes := flag.Bool("notes", false, "render NOTES.txt instead of the manifests")
	existing := flag.String("existing", "", "YAML documents lookup finds, as if in the cluster")
	var overrides valueFiles
	flag.Var(&overrides, "values", "values file (repeatable)")
	flag.Parse()
	if err := run(*chartDir, *release, *namespace, overrides, *notes, *existing); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(chartDir, release, namespace string, overrides []string, notes bool, existingFile string) error {
	objects, err := readObjects(existingFile)
	if err != nil {
		return err
	}
	chart, err := readYAML(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	values, err := readYAML(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, file := range overrides {
		override, err := readYAML(file)
		if err != nil {
			return err
		}
		values = merge(values, override)
	}
	name, _ := chart["name"].(string)
	data := map[string]interface{}{
		"Values":  values,
		"Release": map[string]interface{}{"Name": release, "Namespace": namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
		"Chart":   chartObject(chart),
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": "v1.30.0", "Major": "1", "Minor": "30", "GitVersion": "v1.30.0"},
			"APIVersions": apiVersions{"v1", "apps/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1", "monitoring.coreos.com/v1"},
		},
		"Files": files{root: chartDir},
	}

	root := template.New("gotpl")
	funcs := funcMap(root, objects)
	root.Funcs(funcs).Option("missingkey=zero")
	paths, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	if err != nil {
		return err
	}
	sort.Strings(paths)
	for _, path := range paths {
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if _, err := root.New(name + "/templates/" + filepath.Base(path)).Parse(string(text)); err != nil {
			return err
		}
	}
	var out strings.Builder
	for _, path := range paths {
		base := filepath.Base(path)
		isNotes := base == "NOTES.txt"
		if strings.HasPrefix(base, "_") || isNotes != notes {
			continue
		}
		tname := name + "/templates/" + base
		data["Template"] = map[string]interface{}{"Name": tname, "BasePath": name + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, tname, data); err != nil {
			return err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if strings.TrimSpace(text) == "" {
			continue
		}
		if notes {
			out.WriteString(text)
		} else {
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", tname, strings.TrimRight(text, "\n"))
		}
	}
	_, err = os.Stdout.WriteString(out.String())
	return err
}

func funcMap(root *template.Template, objects []map[string]interface{}) template.FuncMap {
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return normalize(m).(map[string]interface{})
	}
	funcs["toJson"] = func(v interface{}) string { b, _ := json.Marshal(v); return string(b) }
	funcs["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return strings.ReplaceAll(buf.String(), "<no value>", ""), err
	}
	funcs["required"] = func(message string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(message)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(message)
		}
		return v, nil
	}
	// lookup apiVersion kind namespace name: the object, or an empty map when there is none.
	funcs["lookup"] = func(apiVersion, kind, namespace, name string) map[string]interface{} {
		for _, o := range objects {
			meta, _ := o["metadata"].(map[string]interface{})
			if o["apiVersion"] == apiVersion && o["kind"] == kind && meta["namespace"] == namespace && meta["name"] == name {
				return o
			}
		}
		return map[string]interface{}{}
	}
	return funcs
}

// toYAML marshals as Helm does: two-space indent, no trailing newline, "" for an error.
func toYAML(v interface{}) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// readObjects reads the YAML documents of an --existing file; none without one.
func readObjects(path string) ([]map[string]interface{}, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var objects []map[string]interface{}
	dec := yaml.NewDecoder(f)
	for {
		m := map[string]interface{}{}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return objects, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		objects = append(objects, normalize(m).(map[string]interface{}))
	}
}

func readYAML(path string) (map[string]interface{}, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(text, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return normalize(m).(map[string]interface{}), nil
}

// normalize gives values Helm's types: map[string]interface{} maps and float64 numbers.
func normalize(v interface{}) interface{} {
	switch x := v.(type) {
	case map[string]interface{}:
		for k, item := range x {
			x[k] = normalize(item)
		}
		return x
	case map[interface{}]interface{}:
		m := map[string]interface{}{}
		for k, item := range x {
			m[fmt.Sprint(k)] = normalize(item)
		}
		return m
	case []interface{}:
		for i, item := range x {
			x[i] = normalize(item)
		}
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	default:
		return v
	}
}

// merge deep-merges b into a, as Helm merges values files: maps merge, anything else replaces,
// and a null removes the key.
func merge(a, b map[string]interface{}) map[string]interface{} {
	for k, bv := range b {
		if bv == nil {
			delete(a, k)
			continue
		}
		if bm, ok := bv.(map[string]interface{}); ok {
			if am, ok := a[k].(map[string]interface{}); ok {
				a[k] = merge(am, bm)
				continue
			}
		}
		a[k] = bv
	}
	return a
}

// chartObject exposes Chart.yaml as Helm does: capitalised field names.
func chartObject(chart map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range chart {
		out[strings.ToUpper(k[:1])+k[1:]] = v
	}
	return out
}
