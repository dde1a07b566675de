from resunet_gui.cli import main

raise SystemExit(main())
