fn main() -> std::process::ExitCode {
    slack_alarm_notifier::main_entry()
}
