# Bureautix's own setup: the harness with the three suites a Bureautix desktop ships
# (LibreOffice, OnlyOffice Desktop Editors, WPS Office), AbiWord, Gnumeric and the desktop's
# fonts, as a development shell (`nix develop`) and an app (`nix run .#sweep`).
#
# Checked here for syntax only (`nix-instantiate --parse`, tests/test_packaging_nix.py): this
# machine has no nixpkgs to evaluate it against. docs/nixos.md says how to use it.
{
  description = "The fidelity harness with the suites and fonts of a Bureautix desktop";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";

  outputs = { self, nixpkgs }:
    let
      # OnlyOffice Desktop Editors and WPS Office are x86_64 binaries only.
      system = "x86_64-linux";
      pkgs = import nixpkgs {
        inherit system;
        # WPS Office is the one unfree package (unfreeRedistributable): allowed by name here,
        # so nothing else unfree slips in and no user setting is needed.
        config.allowUnfreePredicate = pkg: builtins.elem (pkgs.lib.getName pkg) [ "wpsoffice" ];
      };
      lib = pkgs.lib;
      pyproject = builtins.fromTOML (builtins.readFile ./pyproject.toml);

      # The Python LibreOffice's UNO bridge (pyuno) was built for: with another one the
      # persistent listener cannot start and every document goes through the slower
      # command line. nixpkgs passes it through for unoconv.
      python = pkgs.libreoffice.unwrapped.python or pkgs.python3;

      # pyproject.toml's dependencies by their nixpkgs names (all of them are in nixpkgs;
      # tests/test_packaging_nix.py checks this list against pyproject.toml).
      runtimeDeps = ps: with ps; [
        typer rich jinja2 rapidfuzz pypdfium2 python-docx openpyxl python-pptx pillow
        pdf2image numpy scikit-image defusedxml lxml olefile pyjwt tomli-w license-expression
        dask distributed psutil matplotlib pypdf
      ];
      # The test extras nixpkgs has; import-linter and ms-ovba it lacks: the development
      # shell pip-installs those into .venv.
      testDeps = ps: with ps; [ pytest hypothesis msoffcrypto-tool playwright ];

      # The fonts a Bureautix desktop installs: Liberation (Arial, Times New Roman and Courier
      # New metrics), Carlito (Calibri), Caladea (Cambria), DejaVu (fontconfig's fallback) and
      # Noto CJK, as scripts/install-system-deps.sh installs on Debian, and Noto, which
      # Bureautix ships too (docs/nixos.md: grades can differ from a Debian machine's by it).
      fonts = with pkgs; [
        liberation_ttf dejavu_fonts carlito caladea noto-fonts noto-fonts-cjk-sans
        noto-fonts-cjk-serif
      ];
      fontsConf = pkgs.makeFontsConf { fontDirectories = fonts; };
      # One folder of them for x2t, which reads font files rather than fontconfig.
      fontDir = pkgs.symlinkJoin { name = "fidelity-fonts"; paths = fonts; };

      onlyoffice = pkgs.onlyoffice-desktopeditors;
      # nixpkgs wraps Desktop Editors in an FHS environment whose own output links only icons
      # and .desktop files; the unpacked .deb, with share/desktopeditors/converter/x2t, is a
      # store path in its closure. This finds it at build time, so that the harness is told
      # exactly which x2t (its store path names its version).
      onlyofficeHome = pkgs.runCommand "onlyoffice-desktopeditors-home" {
        closure = pkgs.closureInfo { rootPaths = [ onlyoffice ]; };
      } ''
        while read -r path; do
          if [ -x "$path/share/desktopeditors/converter/x2t" ]; then
            ln -s "$path/share/desktopeditors" "$out"
            exit 0
          fi
        done < "$closure/store-paths"
        echo "no share/desktopeditors/converter/x2t in the closure of ${onlyoffice}" >&2
        exit 1
      '';
      wps = pkgs.wpsoffice;
      xvfb = pkgs.xvfb or pkgs.xorg.xvfb;

      # What the harness runs (the suites) and reads with (poppler, fontconfig's fc-match).
      tools = [
        pkgs.libreoffice onlyoffice wps pkgs.abiword pkgs.gnumeric pkgs.poppler_utils
        pkgs.catdoc xvfb pkgs.fontconfig
      ];
      # Where each suite is, for the finders in renderers/ (docs/suites.md).
      suiteEnvironment = {
        ONLYOFFICE_X2T = "${onlyofficeHome}/converter/x2t";
        ONLYOFFICE_FONT_DIR = "${fontDir}/share/fonts";
        WPS_OFFICE_HOME = "${wps}/opt/kingsoft/wps-office";
        FONTCONFIG_FILE = "${fontsConf}";
        # unoconv's way to LibreOffice's UNO bridge: its program folder on the Python path.
        UNO_PATH = "${pkgs.libreoffice.unwrapped}/lib/libreoffice/program";
      };

      harness = python.pkgs.buildPythonApplication {
        pname = pyproject.project.name;
        version = pyproject.project.version;
        pyproject = true;
        # Only what the package is built from: no .venv, reports or corpus.
        src = lib.fileset.toSource {
          root = ./.;
          fileset = lib.fileset.unions [ ./pyproject.toml ./README.md ./harness ./renderers ];
        };
        build-system = [ python.pkgs.setuptools ];
        dependencies = runtimeDeps python.pkgs;
        # The tests need the corpus, the suites and a browser: `make test` in `nix develop`.
        doCheck = false;
        # The harness starts Python children (`sys.executable -m harness`, the WPS driver):
        # the Python path the wrapper gives `fidelity` is exported for them too
        # ($program_PYTHONPATH: this package and its dependencies, expanded at wrapping).
        makeWrapperArgs =
          [ "--prefix" "PATH" ":" (lib.makeBinPath tools)
            "--prefix" "PYTHONPATH" ":" "$program_PYTHONPATH"
            "--suffix" "PYTHONPATH" ":" suiteEnvironment.UNO_PATH ]
          ++ lib.concatLists (lib.mapAttrsToList (name: value: [ "--set-default" name value ])
            suiteEnvironment);
        meta = {
          description = pyproject.project.description;
          license = lib.licenses.asl20;
          mainProgram = "fidelity";
        };
      };

      # `nix run .#sweep -- [fidelity run options]`: a sweep with every suite here, of
      # ./corpus unless --corpus says otherwise; store and report under ./reports.
      sweep = pkgs.writeShellApplication {
        name = "fidelity-sweep";
        runtimeInputs = [ harness ];
        text = ''exec fidelity run "$@"'';
      };
    in
    {
      packages.${system} = {
        default = harness;
        inherit harness sweep;
        # `nix build .#onlyoffice-x2t`: result/converter/x2t is the x2t the harness runs.
        onlyoffice-x2t = onlyofficeHome;
      };

      apps.${system} = {
        default = { type = "app"; program = "${harness}/bin/fidelity"; };
        sweep = { type = "app"; program = "${sweep}/bin/fidelity-sweep"; };
      };

      # `nix develop`: the suites, fonts and Python on PATH, and .venv made once with
      # `pip install -e '.[test]'`, so that the README's `make test` and `.venv/bin/fidelity`
      # work as on Debian. nixpkgs' packages come first on the Python path; pip adds only
      # what nixpkgs lacks (import-linter, ms-ovba) and, for WPS, pywpsrpc.
      devShells.${system}.default = pkgs.mkShell ({
        # Python packages listed one by one, as nixpkgs' venvShellHook expects: their setup
        # hooks put them on PYTHONPATH, which .venv's Python then sees.
        packages = tools
          ++ [ python python.pkgs.venvShellHook ]
          ++ runtimeDeps python.pkgs ++ testDeps python.pkgs
          # pywpsrpc has no wheel for Python 3.11 or later: pip builds it with sip and qmake.
          ++ [ python.pkgs.sip python.pkgs.pyqt-builder pkgs.libsForQt5.qt5.qtbase ];
        venvDir = ".venv";
        postVenvCreation = ''
          pip install --quiet -e '.[test]'
          pip install --quiet pywpsrpc || echo "pywpsrpc did not install: the wps suite will say so"
          touch .venv/.installed
        '';
        postShellHook = ''
          export PYTHONPATH="''${PYTHONPATH:+$PYTHONPATH:}$UNO_PATH"
          echo "fidelity harness: $(command -v fidelity); run 'fidelity suites' to see the suites"
        '';
      } // suiteEnvironment);

      formatter.${system} = pkgs.nixpkgs-fmt;
    };
}
