/**
 * Build-plan types, compatible in shape with the nixpacks plan JSON
 * (`providers`, `buildImage`, `variables`, `staticAssets`, `phases`, `start`).
 */

export type ProviderName = 'node' | 'go' | 'python' | 'static' | 'dockerfile';

export interface PlanPhase {
  name: string;
  dependsOn?: string[];
  nixPkgs?: string[];
  nixLibs?: string[];
  /** Nix overlays the packages come from (nixpacks field; e.g. the npm overlay). */
  nixOverlays?: string[];
  /** The pinned nixpkgs revision the packages are taken from (nixpacks field). */
  nixpkgsArchive?: string;
  aptPkgs?: string[];
  cmds?: string[];
  onlyIncludeFiles?: string[];
  cacheDirectories?: string[];
  paths?: string[];
}

export interface StartPhase {
  cmd: string | null;
  runImage?: string;
  onlyIncludeFiles?: string[];
  user?: string;
}

export interface BuildPlan {
  providers: ProviderName[];
  /** Pinned base image the phases run in (for a Dockerfile: the base of its final stage). */
  buildImage: string;
  variables: Record<string, string>;
  /** Files (name -> content) written under {@link STATIC_ASSETS_DIR} in the image. */
  staticAssets?: Record<string, string>;
  /** `setup`, `install`, `build` (in this order; keys equal `name`). */
  phases: Record<string, PlanPhase>;
  start: StartPhase;
}

export interface NixpackVars {
  source: string;
  install_cmd?: string;
  build_cmd?: string;
  start_cmd?: string;
  test_cmd?: string;
  pkgs?: string[];
  apt_pkgs?: string[];
  [k: string]: unknown;
}

export interface Detection {
  provider: ProviderName;
  /** The file that decided, relative to the source directory (e.g. `package.json`). */
  evidence: string;
  /** Language version chosen (e.g. `"20"` for Node, `"1.21"` for Go, `"3.11"` for Python). */
  version?: string;
  /** Where the version came from (e.g. `package.json engines.node`, `.nvmrc`, `go.mod`, `default`). */
  versionFrom?: string;
}

/** The base image nixpacks builds in (a pinned tag; nixpacks' default Ubuntu base). */
export const NIXPACKS_BASE_IMAGE = 'ghcr.io/railwayapp/nixpacks:ubuntu-1745885067';
/** The slim image nixpacks runs statically linked binaries in (Go with CGO_ENABLED=0). */
export const STANDALONE_IMAGE = 'ubuntu:jammy';
/** Where `staticAssets` are written inside the image (nixpacks' `/assets/`). */
export const STATIC_ASSETS_DIR = '/assets';
/** The application directory inside the image. */
export const APP_DIR = '/app';
