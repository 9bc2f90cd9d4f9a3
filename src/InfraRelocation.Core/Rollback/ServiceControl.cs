using InfraRelocation.Core.Remote;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Rollback;

/// <summary>
/// How a service is stopped, started and recognised as running on a host, from its service registry entry:
/// <c>commands.stop/start/running</c> when given, else its systemd <c>unit</c>, else its <c>compose</c> file.
/// See docs/design/step-runner.md for the schema.
/// </summary>
public sealed record ServiceControl(string Stop, string Start, string? Running, string Source)
{
    public static ServiceControl? For(RegisteredService? service)
    {
        if (service is null)
        {
            return null;
        }
        string? stop = null, start = null, running = null, source = null;
        if (Blank(service.Unit) is { } unit)
        {
            var q = ShellQuote.Single(unit);
            (stop, start, running, source) = ($"systemctl stop {q}", $"systemctl start {q}", $"systemctl is-active --quiet {q}", "unit");
        }
        else if (Blank(service.Compose) is { } compose)
        {
            var q = ShellQuote.Single(compose);
            (stop, start, running, source) = ($"docker compose -f {q} down", $"docker compose -f {q} up -d",
                $"docker compose -f {q} ps --status running -q | grep -q .", "compose");
        }
        if (service.Commands is { } c)
        {
            stop = Blank(c.Stop) ?? stop;
            start = Blank(c.Start) ?? start;
            running = Blank(c.Running) ?? running;
            source = Blank(c.Stop) is not null || Blank(c.Start) is not null ? "commands" : source;
        }
        return stop is null || start is null ? null : new ServiceControl(stop, start, running, source!);
    }

    internal static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
