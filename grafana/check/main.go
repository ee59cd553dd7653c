// Command check reads a Grafana provisioning folder as Grafana 11 reads it and reports, as JSON on
// stdout, everything Grafana would refuse or mangle; given sample alerts, it also expands the messages
// a vendor would receive for them.
//
//	check <provisioning folder> [samples.json]
//
// What it does the way Grafana does it (pkg/services/provisioning of grafana/grafana 11.x, read for
// this: alerting/config_reader.go, rules_types.go, contact_point_types.go, notification_policy_types.go,
// text_templates_types.go, mute_times_types.go, values/values.go, dashboards/config_reader.go,
// dashboards/file_reader.go; pkg/services/ngalert/state/template/template.go; grafana/alerting
// receivers/dinding/config.go; see docs/grafana.md):
//
//   - decodes every alerting/*.yaml|yml|json file with gopkg.in/yaml.v3 into the shapes Grafana uses
//     (stricter than Grafana: an unknown key is an error here, where Grafana silently drops it);
//   - expands the fields Grafana environment-expands (values.StringValue, JSONValue: $$ is a literal $,
//     $NAME or ${NAME} is a variable) and reports any that would change, since facmon never means a
//     variable there;
//   - decodes mute timings' time_intervals with Alertmanager's timeinterval package, as Grafana does;
//   - parses notification templates with text/template and html/template with Alertmanager's
//     template.DefaultFuncs (Grafana's TemplateService validation; a failure there stops Grafana);
//   - parses rule annotations as Grafana's state manager expands them ($labels, $values, $value
//     predefined; Prometheus' template functions);
//   - checks that the alert rules' folder and the dashboard provider meet in one folder.
//
// Built in GOPATH mode from Debian's packages (golang-go, golang-github-prometheus-alertmanager-dev,
// golang-gopkg-yaml.v3-dev) by grafana/check.py.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
	"time"

	amtemplate "github.com/prometheus/alertmanager/template"
	"github.com/prometheus/alertmanager/timeinterval"
	"gopkg.in/yaml.v3"
)

// Expanded is a field Grafana passes through environment expansion (values.StringValue and friends):
// Raw is what the file says.
type Expanded struct{ Raw string }

func (e *Expanded) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a scalar", node.Line)
	}
	e.Raw = node.Value
	return nil
}

// --- alerting file shapes (Grafana's AlertingFileV1 and its parts) ---

type alertingFile struct {
	APIVersion    int            `yaml:"apiVersion"`
	Groups        []ruleGroup    `yaml:"groups"`
	ContactPoints []contactPoint `yaml:"contactPoints"`
	Policies      []yaml.Node    `yaml:"policies"`
	MuteTimes     []muteTime     `yaml:"muteTimes"`
	Templates     []textTemplate `yaml:"templates"`
}

type ruleGroup struct {
	OrgID    int64    `yaml:"orgId"`
	Name     Expanded `yaml:"name"`
	Folder   Expanded `yaml:"folder"`
	Interval Expanded `yaml:"interval"`
	Rules    []rule   `yaml:"rules"`
}

type rule struct {
	UID          Expanded            `yaml:"uid"`
	Title        Expanded            `yaml:"title"`
	Condition    Expanded            `yaml:"condition"`
	Data         []query             `yaml:"data"`
	DashboardUID Expanded            `yaml:"dashboardUid"`
	PanelID      int64               `yaml:"panelId"`
	NoDataState  Expanded            `yaml:"noDataState"`
	ExecErrState Expanded            `yaml:"execErrState"`
	For          Expanded            `yaml:"for"`
	Annotations  map[string]string   `yaml:"annotations"` // stored raw: never expanded
	Labels       map[string]Expanded `yaml:"labels"`
	IsPaused     bool                `yaml:"isPaused"`
}

type query struct {
	RefID             Expanded `yaml:"refId"`
	QueryType         Expanded `yaml:"queryType"`
	RelativeTimeRange struct {
		From int64 `yaml:"from"`
		To   int64 `yaml:"to"`
	} `yaml:"relativeTimeRange"`
	DatasourceUID Expanded               `yaml:"datasourceUid"`
	Model         map[string]interface{} `yaml:"model"` // stored raw
}

type contactPoint struct {
	OrgID     int64      `yaml:"orgId"`
	Name      Expanded   `yaml:"name"`
	Receivers []receiver `yaml:"receivers"`
}

type receiver struct {
	UID                   Expanded               `yaml:"uid"`
	Type                  Expanded               `yaml:"type"`
	Settings              map[string]interface{} `yaml:"settings"` // a JSONValue: every string in it is expanded
	DisableResolveMessage bool                   `yaml:"disableResolveMessage"`
}

type muteTime struct {
	OrgID         int64                       `yaml:"orgId"`
	Name          string                      `yaml:"name"`
	TimeIntervals []timeinterval.TimeInterval `yaml:"time_intervals"`
}

type textTemplate struct {
	OrgID    int64  `yaml:"orgId"`
	Name     string `yaml:"name"`
	Template string `yaml:"template"`
}

// route is Grafana's notification policy (definitions.Route as the policy file carries it, after
// expansion), decoded strictly.
type route struct {
	Receiver          string      `json:"receiver"`
	GroupBy           []string    `json:"group_by,omitempty"`
	ObjectMatchers    [][3]string `json:"object_matchers,omitempty"`
	MuteTimeIntervals []string    `json:"mute_time_intervals,omitempty"`
	Continue          bool        `json:"continue,omitempty"`
	GroupWait         string      `json:"group_wait,omitempty"`
	GroupInterval     string      `json:"group_interval,omitempty"`
	RepeatInterval    string      `json:"repeat_interval,omitempty"`
	Routes            []route     `json:"routes,omitempty"`
}

// --- dashboard provider and datasource file shapes ---

type dashboardsFile struct {
	APIVersion int `yaml:"apiVersion"`
	Providers  []struct {
		Name                  Expanded               `yaml:"name"`
		Type                  Expanded               `yaml:"type"`
		OrgID                 int64                  `yaml:"orgId"`
		Folder                Expanded               `yaml:"folder"`
		FolderUID             Expanded               `yaml:"folderUid"`
		Editable              bool                   `yaml:"editable"`
		Options               map[string]interface{} `yaml:"options"`
		DisableDeletion       bool                   `yaml:"disableDeletion"`
		UpdateIntervalSeconds int64                  `yaml:"updateIntervalSeconds"`
		AllowUIUpdates        bool                   `yaml:"allowUiUpdates"`
	} `yaml:"providers"`
}

type datasourcesFile struct {
	APIVersion  int                      `yaml:"apiVersion"`
	Datasources []map[string]interface{} `yaml:"datasources"`
}

// --- report ---

type problem struct {
	File   string `json:"file"`
	Object string `json:"object"`
	Error  string `json:"error"`
}

type message struct {
	Rule        string            `json:"rule"`
	Receiver    string            `json:"receiver"`
	Status      string            `json:"status"`
	Annotations map[string]string `json:"annotations"`
	Title       string            `json:"title"`
	Message     string            `json:"message"`
}

type report struct {
	Files    []string  `json:"files"`
	Problems []problem `json:"problems"`
	Messages []message `json:"messages"`
}

func (r *report) add(file, object, format string, args ...interface{}) {
	r.Problems = append(r.Problems, problem{file, object, fmt.Sprintf(format, args...)})
}

// --- Grafana's environment expansion (values.go: interpolateValue) ---

// expand is what Grafana makes of a value with an empty environment: parts between "$$" go through
// os.ExpandEnv, and "$$" becomes "$".
func expand(raw string) string {
	parts := strings.Split(raw, "$$")
	for i, part := range parts {
		parts[i] = os.Expand(part, func(string) string { return "" })
	}
	return strings.Join(parts, "$")
}

// meant is what facmon means by a value it wrote for an expanded field: "$$" for each literal "$".
func meant(raw string) string { return strings.ReplaceAll(raw, "$$", "$") }

func checkExpanded(r *report, file, object string, raw string) string {
	if got := expand(raw); got != meant(raw) {
		r.add(file, object, "Grafana expands %q to %q (a $ in an environment-expanded field must be written $$)", raw, got)
	}
	return meant(raw)
}

func checkExpandedTree(r *report, file, object string, value interface{}) interface{} {
	switch v := value.(type) {
	case string:
		return checkExpanded(r, file, object, v)
	case []interface{}:
		out := make([]interface{}, len(v))
		for i, item := range v {
			out[i] = checkExpandedTree(r, file, object, item)
		}
		return out
	case map[string]interface{}:
		out := map[string]interface{}{}
		for key, item := range v {
			out[key] = checkExpandedTree(r, file, fmt.Sprintf("%s.%s", object, key), item)
		}
		return out
	}
	return value
}

// --- templates ---

// prometheusFuncs stands in for the functions Prometheus' template expander adds for annotations
// (NewTemplateExpander); only their names matter for parsing, and facmon's annotations call none.
func prometheusFuncs() template.FuncMap {
	funcs := template.FuncMap{}
	for _, name := range []string{"query", "first", "label", "value", "strvalue", "args", "sortByLabel", "humanize", "humanize1024",
		"humanizeDuration", "humanizePercentage", "humanizeTimestamp", "pathPrefix", "externalURL", "graphLink", "tableLink",
		"filterLabels", "filterLabelsRe", "removeLabels", "removeLabelsRe", "mergeLabelValues"} {
		funcs[name] = func(args ...interface{}) (string, error) { return "", fmt.Errorf("not available in this check") }
	}
	for name, fn := range amtemplate.DefaultFuncs {
		funcs[name] = fn
	}
	return funcs
}

// annotationData is what Grafana's state manager passes an annotation template.
type annotationData struct {
	Labels map[string]string
	Values map[string]struct {
		Labels map[string]string
		Value  float64
	}
	Value string
}

const annotationPrefix = "{{- $labels := .Labels -}}{{- $values := .Values -}}{{- $value := .Value -}}"

func parseAnnotation(text string) (*template.Template, error) {
	return template.New("annotation").Option("missingkey=invalid").Funcs(prometheusFuncs()).Parse(annotationPrefix + text)
}

func expandAnnotation(text string, labels map[string]string) (string, error) {
	tmpl, err := parseAnnotation(text)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, annotationData{Labels: labels, Value: "[ var='C' labels={} value=1 ]"}); err != nil {
		return "", err
	}
	return strings.ReplaceAll(out.String(), "<no value>", "[no value]"), nil
}

// notificationTemplates parses the provisioned templates as Grafana's TemplateService validates them.
func notificationTemplates(r *report, file string, templates []textTemplate) *template.Template {
	set := template.New("").Option("missingkey=zero").Funcs(template.FuncMap(amtemplate.DefaultFuncs))
	for _, t := range templates {
		content := t.Template
		if !strings.Contains(content, "{{ define") {
			content = fmt.Sprintf("{{ define %q }}%s{{ end }}", t.Name, content)
		}
		if _, err := template.New(t.Name).Option("missingkey=zero").Funcs(template.FuncMap(amtemplate.DefaultFuncs)).Parse(content); err != nil {
			r.add(file, "template "+t.Name, "invalid template (text/template): %v", err)
			continue
		}
		if _, err := htmltemplate.New(t.Name).Option("missingkey=zero").Funcs(htmltemplate.FuncMap(amtemplate.DefaultFuncs)).Parse(content); err != nil {
			r.add(file, "template "+t.Name, "invalid template (html/template): %v", err)
			continue
		}
		if _, err := set.Parse(content); err != nil {
			r.add(file, "template "+t.Name, "invalid template: %v", err)
		}
	}
	return set
}

func execute(set *template.Template, text string, data *amtemplate.Data) (string, error) {
	tmpl, err := set.Clone()
	if err != nil {
		return "", err
	}
	if tmpl, err = tmpl.New("__text__").Parse(text); err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := tmpl.ExecuteTemplate(&out, "__text__", data); err != nil {
		return "", err
	}
	return out.String(), nil
}

// --- samples ---

type sample struct {
	Rule        string            `json:"rule"`
	Receiver    string            `json:"receiver"`
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	StartsAt    time.Time         `json:"starts_at"`
	EndsAt      time.Time         `json:"ends_at"`
	ExternalURL string            `json:"external_url"`
}

// --- reading the folder ---

func decodeStrict(path string, into interface{}) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	decoder := yaml.NewDecoder(bytes.NewReader(data))
	decoder.KnownFields(true)
	return decoder.Decode(into)
}

func yamlFiles(folder string) []string {
	entries, err := os.ReadDir(folder)
	if err != nil {
		return nil
	}
	var files []string
	for _, entry := range entries {
		ext := strings.ToLower(filepath.Ext(entry.Name()))
		if !entry.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
			files = append(files, filepath.Join(folder, entry.Name()))
		}
	}
	sort.Strings(files)
	return files
}

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: check <provisioning folder> [samples.json]")
		os.Exit(2)
	}
	root := os.Args[1]
	r := &report{Problems: []problem{}, Messages: []message{}}
	rel := func(path string) string {
		name, err := filepath.Rel(root, path)
		if err != nil {
			return path
		}
		return name
	}

	rules := map[string]rule{}
	ruleFolders := map[string]string{}
	contactPoints := map[string]contactPoint{}
	var templates []textTemplate
	templateFile := ""
	for _, path := range yamlFiles(filepath.Join(root, "alerting")) {
		file := rel(path)
		r.Files = append(r.Files, file)
		var doc alertingFile
		if err := decodeStrict(path, &doc); err != nil {
			r.add(file, "", "Grafana cannot read the file: %v", err)
			continue
		}
		for _, group := range doc.Groups {
			object := "rule group " + group.Name.Raw
			checkExpanded(r, file, object+" name", group.Name.Raw)
			folder := checkExpanded(r, file, object+" folder", group.Folder.Raw)
			if folder == "" {
				r.add(file, object, "rule group has no folder set")
			}
			if strings.Contains(folder, "/") {
				r.add(file, object, "folder %q contains '/', which Grafana reads as a nested folder path", folder)
			}
			if _, err := time.ParseDuration(checkExpanded(r, file, object+" interval", group.Interval.Raw)); err != nil {
				r.add(file, object, "interval: %v", err)
			}
			for _, rl := range group.Rules {
				uid := checkExpanded(r, file, object+" uid", rl.UID.Raw)
				robject := "rule " + uid
				for _, field := range []Expanded{rl.Title, rl.Condition, rl.DashboardUID, rl.NoDataState, rl.ExecErrState, rl.For} {
					checkExpanded(r, file, robject, field.Raw)
				}
				for key, value := range rl.Labels {
					checkExpanded(r, file, robject+" label "+key, value.Raw)
				}
				for _, q := range rl.Data {
					checkExpanded(r, file, robject+" data", q.RefID.Raw)
					checkExpanded(r, file, robject+" data", q.DatasourceUID.Raw)
				}
				for key, text := range rl.Annotations {
					if _, err := parseAnnotation(text); err != nil {
						r.add(file, robject+" annotation "+key, "Grafana cannot expand it: %v", err)
					}
				}
				rules[uid] = rl
				ruleFolders[uid] = folder
			}
		}
		for _, point := range doc.ContactPoints {
			name := checkExpanded(r, file, "contact point name", point.Name.Raw)
			for i, receiver := range point.Receivers {
				object := fmt.Sprintf("contact point %s receiver %d", name, i+1)
				kind := checkExpanded(r, file, object+" type", receiver.Type.Raw)
				checkExpanded(r, file, object+" uid", receiver.UID.Raw)
				point.Receivers[i].Settings = checkExpandedTree(r, file, object+" settings", receiver.Settings).(map[string]interface{})
				if kind == "dingding" {
					if msgType, _ := point.Receivers[i].Settings["msgType"].(string); msgType != "link" && msgType != "actionCard" {
						r.add(file, object, "dingding msgType %q: Grafana sends anything but link or actionCard as link", msgType)
					}
				}
			}
			contactPoints[name] = point
		}
		for i, node := range doc.Policies {
			var policy map[string]interface{}
			if err := node.Decode(&policy); err != nil {
				r.add(file, fmt.Sprintf("policy %d", i+1), "%v", err)
				continue
			}
			delete(policy, "orgId")
			expanded := checkExpandedTree(r, file, fmt.Sprintf("policy %d", i+1), policy)
			data, _ := json.Marshal(expanded)
			decoder := json.NewDecoder(bytes.NewReader(data))
			decoder.DisallowUnknownFields()
			var tree route
			if err := decoder.Decode(&tree); err != nil {
				r.add(file, fmt.Sprintf("policy %d", i+1), "not a notification policy tree: %v", err)
			}
		}
		templates = append(templates, doc.Templates...)
		if len(doc.Templates) > 0 {
			templateFile = file
		}
		for _, timing := range doc.MuteTimes {
			if timing.Name == "" {
				r.add(file, "mute timing", "has no name")
			}
		}
	}
	set := notificationTemplates(r, templateFile, templates)
	for name, point := range contactPoints {
		for i, receiver := range point.Receivers {
			for _, key := range []string{"title", "message", "subject"} {
				text, ok := receiver.Settings[key].(string)
				if !ok {
					continue
				}
				clone, err := set.Clone()
				if err == nil {
					_, err = clone.New("__text__").Parse(text)
				}
				if err != nil {
					r.add("", fmt.Sprintf("contact point %s receiver %d %s", name, i+1, key), "invalid template: %v", err)
				}
			}
		}
	}

	// One folder: rule groups and the dashboard provider must meet by title (rules create their folder
	// by title with a random uid; a provider with folderUid looks for that uid, not the title).
	folders := map[string]bool{}
	for _, folder := range ruleFolders {
		folders[folder] = true
	}
	for _, path := range yamlFiles(filepath.Join(root, "dashboards")) {
		file := rel(path)
		r.Files = append(r.Files, file)
		var doc dashboardsFile
		if err := decodeStrict(path, &doc); err != nil {
			r.add(file, "", "Grafana cannot read the file: %v", err)
			continue
		}
		for _, provider := range doc.Providers {
			object := "provider " + provider.Name.Raw
			folder := checkExpanded(r, file, object+" folder", provider.Folder.Raw)
			if provider.FolderUID.Raw != "" && len(folders) > 0 {
				r.add(file, object, "folderUid %q: alert rules create their folder by title with a random uid, so this provider would look for another folder", provider.FolderUID.Raw)
			}
			if len(folders) > 0 && !folders[folder] {
				r.add(file, object, "folder %q is not the alert rules' folder: Grafana would show two folders", folder)
			}
		}
	}
	for _, path := range yamlFiles(filepath.Join(root, "datasources")) {
		file := rel(path)
		r.Files = append(r.Files, file)
		var doc datasourcesFile
		if err := decodeStrict(path, &doc); err != nil {
			r.add(file, "", "Grafana cannot read the file: %v", err)
		}
	}

	if len(os.Args) == 3 {
		data, err := os.ReadFile(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		var samples []sample
		if err := json.Unmarshal(data, &samples); err != nil {
			fmt.Fprintln(os.Stderr, "samples:", err)
			os.Exit(2)
		}
		for _, s := range samples {
			r.Messages = append(r.Messages, expandSample(r, s, rules, contactPoints, set))
		}
	}

	sort.Slice(r.Problems, func(i, j int) bool {
		a, b := r.Problems[i], r.Problems[j]
		return a.File+a.Object+a.Error < b.File+b.Object+b.Error
	})
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	out.SetIndent("", " ")
	if err := out.Encode(r); err != nil {
		os.Exit(2)
	}
}

func expandSample(r *report, s sample, rules map[string]rule, points map[string]contactPoint, set *template.Template) message {
	object := fmt.Sprintf("sample %s", s.Rule)
	m := message{Rule: s.Rule, Receiver: s.Receiver, Status: s.Status, Annotations: map[string]string{}}
	rl, ok := rules[s.Rule]
	if !ok {
		r.add("", object, "no provisioned rule has this uid")
		return m
	}
	for key, text := range rl.Annotations {
		expanded, err := expandAnnotation(text, s.Labels)
		if err != nil {
			r.add("", object+" annotation "+key, "%v", err)
		}
		m.Annotations[key] = expanded
	}
	labels := amtemplate.KV{}
	for key, value := range s.Labels {
		labels[key] = value
	}
	labels["alertname"] = meant(rl.Title.Raw)
	annotations := amtemplate.KV{}
	for key, value := range m.Annotations {
		annotations[key] = value
	}
	alert := amtemplate.Alert{Status: s.Status, Labels: labels, Annotations: annotations, StartsAt: s.StartsAt, EndsAt: s.EndsAt}
	data := &amtemplate.Data{
		Receiver: s.Receiver, Status: s.Status, Alerts: amtemplate.Alerts{alert},
		GroupLabels: amtemplate.KV{}, CommonLabels: labels, CommonAnnotations: annotations, ExternalURL: s.ExternalURL,
	}
	point, ok := points[s.Receiver]
	if !ok || len(point.Receivers) == 0 {
		r.add("", object, "no contact point %q", s.Receiver)
		return m
	}
	settings := point.Receivers[0].Settings
	title, _ := settings["title"].(string)
	if title == "" {
		title, _ = settings["subject"].(string)
	}
	text, _ := settings["message"].(string)
	var err error
	if m.Title, err = execute(set, title, data); err != nil {
		r.add("", object+" title", "%v", err)
	}
	if m.Message, err = execute(set, text, data); err != nil {
		r.add("", object+" message", "%v", err)
	}
	return m
}
