# For Nix without flakes: `nix-shell` gives the flake's development shell (flake.nix), built
# from the nixpkgs on NIX_PATH instead of the revision the flake pins. Checked here for syntax
# only, like the flake (docs/nixos.md).
{ nixpkgs ? <nixpkgs> }:
let
  flake = import ./flake.nix;
  outputs = flake.outputs { self = null; inherit nixpkgs; };
in
outputs.devShells.x86_64-linux.default
