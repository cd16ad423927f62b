# Sourced by the scripts: sets PNPM to a pnpm of the pinned version, using npm only.
PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
  PNPM=pnpm
else
  PNPM="npx --yes pnpm@$PNPM_VERSION"
fi
export PNPM
