using InfraRelocation.Core.Ssh;
using InfraRelocation.Model;
using InfraRelocation.Remote;

namespace InfraRelocation.Core.Remote;

/// <summary>
/// One step of a bootstrap plan: <see cref="Check"/> (exit 0 = already done) decides, <see cref="Run"/> acts.
/// A step with no Run is a verification (it fails when the check fails). <see cref="NeedsSecret"/>: Run contains
/// <see cref="BootstrapPlanner.SecretFilePlaceholder"/>, replaced by the path of a 0600 temp file holding the auth key.
/// </summary>
public sealed record BootstrapStep(string Name, string Check, string? Run, bool NeedsSecret = false, string? SkipReason = null);

/// <summary>Pure: turns a VM profile into the exact remote commands of its bootstrap, in order.</summary>
public static class BootstrapPlanner
{
    public const string SecretFilePlaceholder = "{secret_file}";
    public const string MarkerPrefix = "# infra-relocation:";

    /// <summary>
    /// Packages (apt: <c>dpkg -s</c> before <c>apt-get install</c>; <c>none</c>: no package steps), services
    /// (<c>systemctl is-enabled/is-active</c> before <c>enable --now</c>), required running checks (docker,
    /// qemu agent, cron; an explicit false switches one off), the mesh join (<c>tailscale ip -4</c> before
    /// <c>tailscale up</c> with the key in a temp file), required cron hooks (exact line with a marker; the rest
    /// of the crontab kept as is), then the profile's own <c>steps[]</c>.
    /// </summary>
    public static IReadOnlyList<BootstrapStep> Plan(VmProfile profile, string hostname)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var b = profile.Bootstrap;
        var steps = new List<BootstrapStep>();
        var pm = (b.PackageManager ?? "apt").Trim().ToLowerInvariant();
        switch (pm)
        {
            case "apt":
                // Vendor repositories for packages the distribution does not ship, for the VM's own distribution
                // (ID and VERSION_CODENAME from /etc/os-release: Debian and Ubuntu alike; the reference hard-coded Ubuntu).
                if (b.Packages.Any(p => p.StartsWith("docker-ce", StringComparison.Ordinal) || p == "docker-compose-plugin"))
                    steps.Add(new("repo:docker", "test -s /etc/apt/sources.list.d/docker.list && test -s /etc/apt/keyrings/docker.asc", DockerRepo));
                if (b.Packages.Contains("tailscale"))
                    steps.Add(new("repo:tailscale", "test -s /etc/apt/sources.list.d/tailscale.list && test -s /usr/share/keyrings/tailscale-archive-keyring.gpg", TailscaleRepo));
                foreach (var p in b.Packages)
                {
                    ValidateToken(p, "package", profile.Name);
                    var q = ShellQuote.Single(p);
                    steps.Add(new($"package:{p}", $"dpkg -s {q} >/dev/null 2>&1",
                        $"DEBIAN_FRONTEND=noninteractive apt-get install -y -q {q} || {{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q {q}; }}"));
                }
                break;
            case "none":
                break;
            default:
                throw new RelocationException("BootstrapPackageManagerUnsupported", FailureKind.InvalidData,
                    $"Profile '{profile.Name}': bootstrap.package_manager '{b.PackageManager}' is not supported (apt or none).",
                    b.LocationOf("package_manager"), profile.Name);
        }
        foreach (var s in b.ServicesEnable)
        {
            ValidateToken(s, "service", profile.Name);
            var q = ShellQuote.Single(s);
            steps.Add(new($"service:{s}", $"systemctl is-enabled --quiet {q} && systemctl is-active --quiet {q}", $"systemctl enable --now {q}"));
        }
        if (b.RequireDockerRunning ?? pm != "none")
            steps.Add(new("check:docker_running", "systemctl is-active --quiet docker", null));
        if (b.RequireQemuAgentRunning ?? pm != "none")
            steps.Add(new("check:qemu_agent_running", "systemctl is-active --quiet qemu-guest-agent", null));
        if (b.RequireCronRunning ?? pm != "none")
            steps.Add(new("check:cron_running", CronRunningCommand, null));
        if (b.RequireTailscaleConnected ?? pm != "none")
        {
            HypervisorProbe.ValidateHostname(hostname);
            steps.Add(new("mesh:tailscale", "tailscale ip -4 2>/dev/null | grep -q .",
                $"tailscale up --auth-key=\"file:{SecretFilePlaceholder}\" --hostname={ShellQuote.Single(hostname)}", NeedsSecret: true));
        }
        foreach (var h in b.CronHooks)
        {
            if (!h.Required)
            {
                steps.Add(new($"cron:{h.Name}", "", null, SkipReason: "cron hook not required (required: false)"));
                continue;
            }
            if (string.IsNullOrWhiteSpace(h.Schedule) || string.IsNullOrWhiteSpace(h.Command))
                throw new RelocationException("BootstrapCronHookInvalid", FailureKind.InvalidData,
                    $"Profile '{profile.Name}': cron hook '{h.Name}' needs a schedule and a command.", h.Location, h.Name);
            var marker = CronMarker(profile.Name, h.Name);
            var line = $"{h.Schedule.Trim()} {h.Command.Trim()} {marker}";
            if (line.Contains('\n', StringComparison.Ordinal))
                throw new RelocationException("BootstrapCronHookInvalid", FailureKind.InvalidData,
                    $"Profile '{profile.Name}': cron hook '{h.Name}' spans several lines.", h.Location, h.Name);
            steps.Add(new($"cron:{h.Name}", CronCheckCommand(line), CronInstallCommand(line, marker)));
        }
        foreach (var s in b.Steps)
        {
            if (string.IsNullOrWhiteSpace(s.Check) && string.IsNullOrWhiteSpace(s.Run))
                throw new RelocationException("BootstrapStepInvalid", FailureKind.InvalidData,
                    $"Profile '{profile.Name}': step '{s.Name}' needs a check or a run command.", s.Location, s.Name);
            steps.Add(new($"step:{s.Name}", string.IsNullOrWhiteSpace(s.Check) ? "false" : s.Check.Trim(),
                string.IsNullOrWhiteSpace(s.Run) ? null : s.Run.Trim()));
        }
        return steps;
    }

    private const string AptPrereqs =
        "export DEBIAN_FRONTEND=noninteractive; . /etc/os-release && " +
        "{ command -v curl >/dev/null 2>&1 && test -f /etc/ssl/certs/ca-certificates.crt || { apt-get update -q && apt-get install -y -q ca-certificates curl; }; } && ";

    /// <summary>Docker's apt key and repository line for this distribution.</summary>
    public const string DockerRepo = AptPrereqs +
        "install -m 0755 -d /etc/apt/keyrings && curl -fsSL \"https://download.docker.com/linux/$ID/gpg\" -o /etc/apt/keyrings/docker.asc && " +
        "chmod a+r /etc/apt/keyrings/docker.asc && " +
        "printf 'deb [arch=%s signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/%s %s stable\\n' \"$(dpkg --print-architecture)\" \"$ID\" \"$VERSION_CODENAME\" " +
        "> /etc/apt/sources.list.d/docker.list && apt-get update -q";

    /// <summary>Tailscale's apt keyring and repository list for this distribution.</summary>
    public const string TailscaleRepo = AptPrereqs +
        "curl -fsSL \"https://pkgs.tailscale.com/stable/$ID/$VERSION_CODENAME.noarmor.gpg\" -o /usr/share/keyrings/tailscale-archive-keyring.gpg && " +
        "curl -fsSL \"https://pkgs.tailscale.com/stable/$ID/$VERSION_CODENAME.tailscale-keyring.list\" -o /etc/apt/sources.list.d/tailscale.list && apt-get update -q";

    public const string CronRunningCommand =
        "systemctl is-active --quiet cron 2>/dev/null || systemctl is-active --quiet crond 2>/dev/null || pgrep -x cron >/dev/null 2>&1 || pgrep -x crond >/dev/null 2>&1";

    public static string CronMarker(string profile, string hook) => $"{MarkerPrefix}{profile}/{hook}";

    /// <summary>Exit 0 when the crontab holds exactly this line.</summary>
    public static string CronCheckCommand(string line) => $"crontab -l 2>/dev/null | grep -qxF -- {ShellQuote.Single(line)}";

    /// <summary>
    /// Replaces the line ending with the hook's marker (or appends it), keeping every other line as it is
    /// (blank lines and comments included). Refuses to overwrite a crontab it could not read.
    /// </summary>
    public static string CronInstallCommand(string line, string marker) =>
        "command -v crontab >/dev/null 2>&1 || { echo 'crontab not found' >&2; exit 127; }; " +
        "t=$(mktemp) || exit 1; " +
        "if crontab -l >\"$t\" 2>/dev/null; then :; elif [ -s \"$t\" ]; then rm -f \"$t\"; echo 'cannot read the crontab' >&2; exit 1; else : >\"$t\"; fi; " +
        $"{{ awk -v m={ShellQuote.Single(marker)} '{{ if (length($0) >= length(m) && substr($0, length($0) - length(m) + 1) == m) next; print }}' \"$t\"; " +
        $"printf '%s\\n' {ShellQuote.Single(line)}; }} | crontab - ; rc=$?; rm -f \"$t\"; exit $rc";

    private static void ValidateToken(string value, string what, string profile)
    {
        if (string.IsNullOrWhiteSpace(value) || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '+' or '@' or ':'))
            throw new RelocationException("BootstrapNameInvalid", FailureKind.InvalidData,
                $"Profile '{profile}': {what} name '{value}' has characters a {what} name cannot have.", target: value);
    }
}

/// <summary>Runs a bootstrap plan over SSH, step by step: check, then act, then check again.</summary>
public sealed class BootstrapExecutor(SshSessionPool pool)
{
    /// <summary>
    /// Runs the steps in order on <paramref name="endpoint"/>. A step whose check passes is AlreadyDone; otherwise
    /// its run command runs and the check must pass afterwards. The first failure (including a dropped connection
    /// or a timeout) stops the run; the remaining steps are NotRun, so a re-run resumes where it stopped.
    /// </summary>
    public async Task<IReadOnlyList<BootstrapStepResult>> RunAsync(SshEndpoint endpoint, string hostname, IReadOnlyList<BootstrapStep> steps,
        SshSecret? authKey, Action<BootstrapStepResult>? stepDone = null, CancellationToken cancellationToken = default)
    {
        var results = new List<BootstrapStepResult>();
        var failed = false;
        for (var i = 0; i < steps.Count; i++)
        {
            var s = steps[i];
            var row = new BootstrapStepResult { Hostname = hostname, Order = i + 1, Step = s.Name, CheckCommand = NullIfEmpty(s.Check), RunCommand = s.Run };
            if (s.SkipReason is not null) row = row with { State = BootstrapStepState.Skipped, Evidence = s.SkipReason };
            else if (failed) row = row with { State = BootstrapStepState.NotRun, Evidence = "an earlier step failed" };
            else
            {
                row = await RunStepAsync(endpoint, s, row, authKey, cancellationToken).ConfigureAwait(false);
                failed = row.State == BootstrapStepState.Failed;
            }
            results.Add(row);
            stepDone?.Invoke(row);
        }
        return results;
    }

    /// <summary>The plan as -WhatIf shows it: every step Planned (or Skipped), nothing run.</summary>
    public static IReadOnlyList<BootstrapStepResult> Preview(string hostname, IReadOnlyList<BootstrapStep> steps) =>
        steps.Select((s, i) => new BootstrapStepResult
        {
            Hostname = hostname, Order = i + 1, Step = s.Name, CheckCommand = NullIfEmpty(s.Check), RunCommand = s.Run,
            State = s.SkipReason is null ? BootstrapStepState.Planned : BootstrapStepState.Skipped,
            Evidence = s.SkipReason ?? (s.Run is null ? "verify only" : "check, then run if not done"),
        }).ToList();

    private async Task<BootstrapStepResult> RunStepAsync(SshEndpoint endpoint, BootstrapStep s, BootstrapStepResult row, SshSecret? authKey, CancellationToken ct)
    {
        try
        {
            var check = await pool.RunAsync(endpoint, s.Check, cancellationToken: ct).ConfigureAwait(false);
            if (check.Succeeded) return row with { State = BootstrapStepState.AlreadyDone, Evidence = "check passed; nothing to do" };
            if (s.Run is null) return row with { State = BootstrapStepState.Failed, Evidence = $"check failed (exit {check.ExitCode}){Tail(check.Stderr)}" };

            SshCommandResult run;
            if (s.NeedsSecret)
            {
                if (authKey is null)
                    return row with { State = BootstrapStepState.Failed, Evidence = "not connected and no auth key given (-AuthKey, or the environment variable named by tailscale_auth_secret_key)" };
                run = await pool.WithSecretFileAsync(endpoint, authKey, (path, c) =>
                    pool.RunAsync(endpoint, s.Run.Replace(BootstrapPlanner.SecretFilePlaceholder, path, StringComparison.Ordinal),
                        new SshRunOptions { Mask = [authKey] }, c), ct).ConfigureAwait(false);
            }
            else
            {
                run = await pool.RunAsync(endpoint, s.Run, cancellationToken: ct).ConfigureAwait(false);
            }
            if (!run.Succeeded) return row with { State = BootstrapStepState.Failed, Evidence = $"run failed (exit {run.ExitCode}){Tail(run.Stderr)}" };
            var after = await pool.RunAsync(endpoint, s.Check, cancellationToken: ct).ConfigureAwait(false);
            return after.Succeeded
                ? row with { State = BootstrapStepState.Done, Evidence = $"ran in {run.Duration.TotalMilliseconds:0} ms; check now passes" }
                : row with { State = BootstrapStepState.Failed, Evidence = $"ran, but the check still fails (exit {after.ExitCode}){Tail(after.Stderr)}" };
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return row with { State = BootstrapStepState.Failed, Evidence = ex is RelocationException rex ? $"{rex.ErrorId}: {rex.Message}" : $"{ex.GetType().Name}: {ex.Message}" };
        }
    }

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;

    private static string Tail(string stderr)
    {
        var t = stderr.Trim();
        if (t.Length == 0) return "";
        return ": " + (t.Length > 300 ? "…" + t[^300..] : t);
    }
}
