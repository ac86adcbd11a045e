{{- define "istiod.profile" -}}
{{- $profile := toString (.Values.profile | default "") -}}
{{- if not (has $profile (list "" "default" "demo" "ambient" "preview" "stable" "remote")) -}}
{{- fail (printf "unknown profile %s" $profile) -}}
{{- end -}}
{{- $profile -}}
{{- end -}}

{{- define "istiod.tag" -}}
{{- .Values.global.tag | default .Chart.AppVersion -}}
{{- end -}}

{{- define "istiod.traceSampling" -}}
{{- $pilot := .Values.pilot | default dict -}}
{{- $sampling := ternary 100.0 1.0 (eq (include "istiod.profile" .) "demo") -}}
{{- if hasKey .Values "traceSampling" }}{{ $sampling = .Values.traceSampling }}{{ end -}}
{{- if hasKey $pilot "traceSampling" }}{{ $sampling = $pilot.traceSampling }}{{ end -}}
{{- $sampling -}}
{{- end -}}

{{- define "istiod.mesh" -}}
{{- $mesh := deepCopy (.Values.meshConfig | default dict) -}}
{{- $ns := .Values.global.istioNamespace | default .Release.Namespace -}}
{{- if eq (include "istiod.profile" .) "demo" -}}
{{- if not (hasKey $mesh "accessLogFile") }}{{ $_ := set $mesh "accessLogFile" "/dev/stdout" }}{{ end -}}
{{- end -}}
{{- if not (hasKey $mesh "enablePrometheusMerge") }}{{ $_ := set $mesh "enablePrometheusMerge" true }}{{ end -}}
{{- if not (hasKey $mesh "rootNamespace") }}{{ $_ := set $mesh "rootNamespace" $ns }}{{ end -}}
{{- if not (hasKey $mesh "trustDomain") }}{{ $_ := set $mesh "trustDomain" "cluster.local" }}{{ end -}}
{{- $defaults := dict "discoveryAddress" (printf "istiod.%s.svc:15012" $ns) -}}
{{- $_ := set $mesh "defaultConfig" (merge (get $mesh "defaultConfig" | default dict) $defaults) -}}
{{- toYaml $mesh -}}
{{- end -}}

{{- define "istiod.labels" -}}
app.kubernetes.io/part-of: istio
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "istiod.tag" . | quote }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
