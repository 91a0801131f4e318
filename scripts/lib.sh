# Shared by scripts/upgrade, scripts/backup and scripts/restore (sourced, not run).
# COMPOSE (e.g. "podman-compose" or "docker compose") and ENGINE ("podman" or "docker") may be
# set; otherwise Docker Compose v2 is used when a Docker daemon answers, else podman-compose.
# COMPOSE_PROJECT_NAME and COMPOSE_FILE are honoured by both, as usual.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${COMPOSE:-}" ]; then
  if docker compose version >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    COMPOSE="docker compose"
  elif command -v podman-compose >/dev/null 2>&1; then
    COMPOSE="podman-compose"
  else
    echo "no docker compose (v2) with a running daemon, and no podman-compose" >&2
    exit 2
  fi
fi
if [ -z "${ENGINE:-}" ]; then
  case "$COMPOSE" in podman*) ENGINE=podman ;; *) ENGINE=docker ;; esac
fi
# The same project name compose uses: -p is not passed, so COMPOSE_PROJECT_NAME or `name:`.
PROJECT=${COMPOSE_PROJECT_NAME:-rightswatch}
APP_SERVICES=(worker beat api)

compose() { $COMPOSE "$@"; }

# The value compose substitutes for a variable: the environment, then .env, then the default.
setting() {
  local name=$1 default=$2 value
  value=${!name:-}
  if [ -z "$value" ] && [ -f .env ]; then
    value=$(sed -n "s/^${name}=//p" .env | tail -n 1)
  fi
  printf '%s' "${value:-$default}"
}
IMAGE=$(setting RIGHTSWATCH_IMAGE localhost/rightswatch:latest)

# Ids of this project's containers of one service, running or not.
containers() {
  $ENGINE ps -a -q --filter "label=com.docker.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=$1"
}

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
