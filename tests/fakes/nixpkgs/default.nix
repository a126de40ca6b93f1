# A stand-in for nixpkgs, named as such: `import nixpkgs { system; config; }` gives the
# packages and builders flake.nix uses, each a record of how it was called with a store
# path made from its name. Like nixpkgs, it refuses an unfree package (wpsoffice) that
# config does not allow. The Python package names are those of nixpkgs'
# pkgs/development/python-modules (each looked up there); a name the flake uses and nixpkgs
# lacks fails the evaluation as it would with nixpkgs.
# Used by tests/test_packaging_nix.py, which replaces PYTHON_NAMES with the quoted names
# of NIXPKGS_PYTHON there.
{ system, config ? { } }:
let
  hashOf = name: builtins.substring 0 32 (builtins.hashString "sha256" name);
  pkg = pname: version: extra: {
    inherit pname version;
    name = "${pname}-${version}";
    outPath = "/nix/store/${hashOf pname}-${pname}-${version}";
  } // extra;
  called = name: args: args // { inherit name; outPath = "/nix/store/${hashOf name}-${name}"; };
  allows = p: (config.allowUnfreePredicate or (_: false)) p;
  unfree = p: if allows p then p else throw "stand-in nixpkgs: ${p.pname} is unfree and not allowed";
  lib = {
    getName = p: p.pname;
    makeBinPath = ps: builtins.concatStringsSep ":" (map (p: "${p}/bin") ps);
    concatLists = builtins.concatLists;
    mapAttrsToList = f: s: map (n: f n s.${n}) (builtins.attrNames s);
    licenses.asl20 = "asl20";
    fileset = {
      unions = xs: xs;
      toSource = { root, fileset }: {
        outPath = "/nix/store/${hashOf "source"}-source";
        files = map (f: builtins.baseNameOf (toString f)) fileset;
      };
    };
  };
  pythonNames = [ PYTHON_NAMES ];
  pythonPkgs = builtins.listToAttrs (map (n: { name = n; value = pkg n "0" { }; }) pythonNames) // {
    buildPythonApplication = args: called "${args.pname}-${args.version}" args;
    venvShellHook = pkg "venv-shell-hook" "0" { };
  };
  python = pkg "python3" "3.12.10" { pkgs = pythonPkgs; };
  libreofficeUnwrapped = pkg "libreoffice" "25.2.3.2" { inherit python; };
in
{
  inherit lib python;
  python3 = python;
  libreoffice = pkg "libreoffice-wrapped" "25.2.3.2" { unwrapped = libreofficeUnwrapped; };
  onlyoffice-desktopeditors = pkg "onlyoffice-desktopeditors" "9.1.0" { };
  wpsoffice = unfree (pkg "wpsoffice" "11.1.0.11723" { });
  abiword = pkg "abiword" "3.0.7" { };
  gnumeric = pkg "gnumeric" "1.12.59" { };
  poppler_utils = pkg "poppler-utils" "25.05.0" { };
  catdoc = pkg "catdoc" "0.95" { };
  fontconfig = pkg "fontconfig" "2.16.0" { };
  xorg.xvfb = pkg "xvfb" "21.1.18" { };
  liberation_ttf = pkg "liberation-fonts" "2.1.5" { };
  dejavu_fonts = pkg "dejavu-fonts" "2.37" { };
  carlito = pkg "carlito" "20230309" { };
  caladea = pkg "caladea" "20200113" { };
  noto-fonts = pkg "noto-fonts" "2025.05.01" { };
  noto-fonts-cjk-sans = pkg "noto-fonts-cjk-sans" "2.004" { };
  noto-fonts-cjk-serif = pkg "noto-fonts-cjk-serif" "2.003" { };
  libsForQt5.qt5.qtbase = pkg "qtbase" "5.15.16" { };
  nixpkgs-fmt = pkg "nixpkgs-fmt" "1.3.0" { };
  makeFontsConf = { fontDirectories }: called "fonts.conf" { inherit fontDirectories; };
  symlinkJoin = { name, paths }: called name { inherit paths; };
  closureInfo = { rootPaths }: called "closure-info" { inherit rootPaths; };
  runCommand = name: env: buildCommand: called name (env // { inherit buildCommand; });
  writeShellApplication = args: called args.name args;
  mkShell = args: called "nix-shell" (args // { standInConfig = config; });
}
