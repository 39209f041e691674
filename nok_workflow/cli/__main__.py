from nok_workflow.cli import main

main()
