{{/* The prefix of every object's name: the release's name, as kustomize's
namePrefix gives config/default's objects theirs. */}}
{{- define "aipm-operator.fullname" -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "aipm-operator.labels" -}}
app.kubernetes.io/name: aipm-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Labels that select the operator's pods, as config/manager's. */}}
{{- define "aipm-operator.selectorLabels" -}}
app.kubernetes.io/name: aipm-operator
control-plane: controller-manager
{{- end -}}

{{/* The operator's ServiceAccount. */}}
{{- define "aipm-operator.serviceAccount" -}}
{{ include "aipm-operator.fullname" . }}-controller-manager
{{- end -}}
