"""UI-free Istio knowledge: install plan, helm runner, injection rules, routing presets."""
