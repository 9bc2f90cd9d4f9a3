using InfraRelocation.Core.Ssh;
using InfraRelocation.Core.Steps;
using InfraRelocation.Model;
using InfraRelocation.Remote;

namespace InfraRelocation.Core.Remote;

/// <summary>
/// One step of a bootstrap plan: <see cref="Check"/> (exit 0 = already done) decides, <see cref="Run"/> acts.
/// A step with no Run is a verification (it fails when the check fails). <see cref="NeedsSecret"/>: the auth key
/// is written to Run's stdin (never to a file or a command line). <see cref="AppliesCheck"/>: when it fails, the
/// step is NotApplicable (e.g. the mesh join on a VM without tailscale). <see cref="Hint"/>: what to do when it fails.
/// </summary>
public sealed record BootstrapStep(string Name, string Check, string? Run, bool NeedsSecret = false, string? SkipReason = null)
{
    public string? AppliesCheck { get; init; }
    public string? NotApplicableReason { get; init; }
    public string? Hint { get; init; }
}

/// <summary>Pure: turns a VM profile into the exact remote commands of its bootstrap, in order.</summary>
public static class BootstrapPlanner
{
    /// <summary>Seconds an apt-get waits for the lock another apt or dpkg process holds (then it fails and says so).</summary>
    public const int AptLockWaitSeconds = 300;
    /// <summary>Auth-key files an older version wrote next to the mesh join; removed by the mesh:secret-cleanup step.</summary>
    public const string LeftoverSecretFiles = "${TMPDIR:-/tmp}/ir-secret.* /tmp/ir-secret.*";
    public const string MarkerPrefix = "# infra-relocation:";

    /// <summary>
    /// Packages (apt: <c>dpkg -s</c> before <c>apt-get install</c>; <c>none</c>: no package steps), services
    /// (<c>systemctl is-enabled/is-active</c> before <c>enable --now</c>), required running checks (docker,
    /// qemu agent, cron; an explicit false switches one off), the mesh join (<c>tailscale ip -4</c> before
    /// <c>tailscale up</c> with the key on its stdin, never on disk), required cron hooks (exact line with a marker; the rest
    /// of the crontab kept as is), then the profile's own <c>steps[]</c>. A <paramref name="loginUser"/> other than
    /// root runs every command through <c>sudo -n</c> (never a password prompt), after an <c>access:sudo</c> check.
    /// </summary>
    public static IReadOnlyList<BootstrapStep> Plan(VmProfile profile, string hostname, string loginUser = "root")
    {
        ArgumentNullException.ThrowIfNull(profile);
        var steps = PlanAsRoot(profile, hostname);
        if (loginUser == "root") return steps;
        var sudo = new BootstrapStep("access:sudo", "sudo -n true", null)
        {
            Hint = $"'{loginUser}' needs passwordless sudo for bootstrap (sudo -n asks for no password): add '{loginUser} ALL=(ALL) NOPASSWD:ALL' " +
                   "to a file in /etc/sudoers.d, or connect as root",
        };
        return [sudo, .. steps.Select(s => s with
        {
            Check = s.Check.Length == 0 ? s.Check : Sudo(s.Check),
            Run = s.Run is null ? null : Sudo(s.Run),
            AppliesCheck = s.AppliesCheck is null ? null : Sudo(s.AppliesCheck),
        })];
    }

    /// <summary>The command as root through sudo, never prompting (<c>-n</c>: fails at once when a password is needed).</summary>
    public static string Sudo(string command) => $"sudo -n sh -c {ShellQuote.Single(command)}";

    private static List<BootstrapStep> PlanAsRoot(VmProfile profile, string hostname)
    {
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
                    steps.Add(new($"package:{p}", PackageInstalledCommand(q), AptInstallCommand(q)));
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
            // The key never touches the VM's disk: tailscale reads it from stdin. A key file an interrupted older
            // version left behind is removed first.
            steps.Add(new("mesh:secret-cleanup", $"! ls {LeftoverSecretFiles} >/dev/null 2>&1", $"rm -f {LeftoverSecretFiles}"));
            steps.Add(new("mesh:tailscale", "tailscale ip -4 2>/dev/null | grep -q .",
                $"tailscale up --auth-key=file:/dev/stdin --hostname={ShellQuote.Single(hostname)}", NeedsSecret: true)
            {
                AppliesCheck = "command -v tailscale >/dev/null 2>&1",
                NotApplicableReason = "tailscale is not installed on this VM, so there is no mesh to join here (add tailscale to the profile's packages to join)",
            });
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

    /// <summary>Exit 0 only when the package is fully installed (an install cut off midway leaves it unpacked or half-configured).</summary>
    public static string PackageInstalledCommand(string quotedPackage) =>
        $"dpkg-query -W -f='${{Status}}' {quotedPackage} 2>/dev/null | grep -qx 'install ok installed'";

    /// <summary>
    /// Installs one package: first finishes what an earlier, cut-off run left half done (<c>dpkg --configure -a</c>),
    /// waits up to <see cref="AptLockWaitSeconds"/> for another apt or dpkg process, and refreshes the package lists
    /// only when the package is not found in them.
    /// </summary>
    public static string AptInstallCommand(string quotedPackage) =>
        "export DEBIAN_FRONTEND=noninteractive; " +
        $"a='apt-get -q -y -o DPkg::Lock::Timeout={AptLockWaitSeconds} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold'; " +
        "if [ -n \"$(ls -A /var/lib/dpkg/updates 2>/dev/null)\" ] || [ -n \"$(dpkg --audit 2>/dev/null)\" ]; then " +
        $"i=0; until dpkg --force-confdef --force-confold --configure -a; do i=$((i+2)); [ $i -lt {AptLockWaitSeconds} ] || exit 1; sleep 2; done; fi; " +
        $"$a install {quotedPackage} || {{ $a update && $a install {quotedPackage}; }}";

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

/// <summary>
/// Remote steps (bootstrap, and the rollback's stop/restore/start/route) over SSH, through the shared
/// <see cref="StepRunner"/>: check, then act, then check again. A step with an empty check and a run command just runs
/// (exit 0 = done).
/// </summary>
public sealed class BootstrapExecutor(SshSessionPool pool)
{
    /// <summary>
    /// Runs the steps in order on <paramref name="endpoint"/>. A step whose check passes is Unchanged (nothing ran); otherwise
    /// its run command runs and the check must pass afterwards. The first failure (including a dropped connection
    /// or a timeout) stops the run; the remaining steps are NotRun, so a re-run resumes where it stopped.
    /// </summary>
    public async Task<IReadOnlyList<BootstrapStepResult>> RunAsync(SshEndpoint endpoint, string hostname, IReadOnlyList<BootstrapStep> steps,
        SshSecret? authKey, Action<BootstrapStepResult>? stepDone = null, CancellationToken cancellationToken = default)
    {
        var results = new List<BootstrapStepResult>(steps.Count);
        var runner = new StepRunner
        {
            Finished = record =>
            {
                var row = Row(hostname, steps[record.Order - 1], record);
                results.Add(row);
                stepDone?.Invoke(row);
            },
        };
        await runner.RunAsync(steps.Select(s => ToStep(endpoint, s, authKey)).ToList(), cancellationToken).ConfigureAwait(false);
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

    /// <summary>A bootstrap step as the runner's: the applies-check and the check observe, the run command applies.</summary>
    private Step ToStep(SshEndpoint endpoint, BootstrapStep s, SshSecret? authKey)
    {
        var hasCheck = s.Check.Length > 0;
        var appliesAsked = false;
        return new Step(s.Name)
        {
            SkipReason = s.SkipReason,
            // A step with nothing to check (a restore): the caller's journal makes it run once; exit 0 is done.
            Observe = !hasCheck && s.AppliesCheck is null ? null : async ct =>
            {
                // Whether the step applies is asked before it runs, not after: its run may remove what made it apply
                // (the RRD files of the old node name, once moved).
                if (s.AppliesCheck is not null && !appliesAsked)
                {
                    appliesAsked = true;
                    var applies = await pool.RunAsync(endpoint, s.AppliesCheck, cancellationToken: ct).ConfigureAwait(false);
                    if (!applies.Succeeded) return Observation.NotApplicable(s.NotApplicableReason ?? $"does not apply (exit {applies.ExitCode})");
                }
                if (!hasCheck) return Observation.Pending("nothing to check");
                var check = await pool.RunAsync(endpoint, s.Check, cancellationToken: ct).ConfigureAwait(false);
                return check.Succeeded
                    ? Observation.Done("check passed; nothing to do")
                    : Observation.Pending($"the check failed (exit {check.ExitCode}){Tail(check.Stderr)}");
            },
            ObserveAfterApply = hasCheck,
            Apply = s.Run is null ? null : async ct =>
            {
                if (s.NeedsSecret && authKey is null)
                    return Applied.Fail("not connected and no auth key given (-AuthKey, or the environment variable named by tailscale_auth_secret_key)");
                // The secret goes to the command's stdin: it is never written to the VM's disk nor shown on a command line.
                var run = await pool.RunAsync(endpoint, s.Run, s.NeedsSecret ? new SshRunOptions { SecretStdin = authKey } : null, ct).ConfigureAwait(false);
                if (!run.Succeeded) return Applied.Fail($"run failed (exit {run.ExitCode}){Tail(run.Stderr)}");
                return Applied.Ok(hasCheck
                    ? $"ran in {run.Duration.TotalMilliseconds:0} ms; check now passes"
                    : $"ran in {run.Duration.TotalMilliseconds:0} ms (exit 0){Tail(run.Stdout)}");
            },
        };
    }

    private static BootstrapStepResult Row(string hostname, BootstrapStep s, StepRecord record)
    {
        var row = new BootstrapStepResult
        {
            Hostname = hostname, Order = record.Order, Step = s.Name, CheckCommand = NullIfEmpty(s.Check), RunCommand = s.Run,
            State = record.Outcome switch
            {
                StepOutcome.Unchanged => BootstrapStepState.Unchanged,
                StepOutcome.Done => BootstrapStepState.Done,
                StepOutcome.NotRun => BootstrapStepState.NotRun,
                StepOutcome.Skipped => BootstrapStepState.Skipped,
                StepOutcome.NotApplicable => BootstrapStepState.NotApplicable,
                _ => BootstrapStepState.Failed,
            },
            Evidence = record.Evidence,
        };
        if (record.Outcome != StepOutcome.Failed) return row;
        // A connection failure, a timeout or a lost connection is the step's failure, with the reason.
        return record.Error is { } ex
            ? row with { Evidence = ex is RelocationException rex ? $"{rex.ErrorId}: {rex.Message}" : $"{ex.GetType().Name}: {ex.Message}" }
            : Failed(row, s, record.Evidence);
    }

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;

    private static BootstrapStepResult Failed(BootstrapStepResult row, BootstrapStep s, string evidence)
    {
        // apt-get says "Could not get lock ... It is held by process N (apt-get)" once its lock wait is over.
        if (evidence.Contains("Could not get lock", StringComparison.Ordinal))
            evidence = $"another apt or dpkg process held the package lock for more than {BootstrapPlanner.AptLockWaitSeconds} s; " +
                       $"the package itself was not tried. Re-run when it has finished: {evidence}";
        return row with { State = BootstrapStepState.Failed, Evidence = s.Hint is null ? evidence : $"{evidence}. {s.Hint}" };
    }

    private static string Tail(string stderr)
    {
        var t = stderr.Trim();
        if (t.Length == 0) return "";
        return ": " + (t.Length > 300 ? "…" + t[^300..] : t);
    }
}
