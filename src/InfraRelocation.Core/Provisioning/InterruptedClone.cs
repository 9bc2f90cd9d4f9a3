using System.Globalization;
using System.Text.RegularExpressions;
using InfraRelocation.Core.Proxmox;

namespace InfraRelocation.Core.Provisioning;

/// <summary>What a run does about a clone the journal shows as sent but whose task it never recorded.</summary>
public enum InterruptedCloneAction
{
    /// <summary>The clone's task still runs: wait for it as for a recorded UPID.</summary>
    WaitForTask,
    /// <summary>The clone finished (its task ended OK, or the VM exists unlocked): carry on with the VM.</summary>
    Continue,
    /// <summary>Nothing was created (the request never reached Proxmox, or its task failed and removed the VM): clone.</summary>
    CloneAgain,
    /// <summary>The VM is locked by a clone no running task is making: an operator must look.</summary>
    Refuse,
    /// <summary>A clone task of the template runs but its log does not name its VM yet: ask again shortly.</summary>
    LookAgain,
}

/// <summary>The decision, with the clone's task when one was found.</summary>
public sealed record InterruptedCloneDecision(InterruptedCloneAction Action, string? Upid, string Note);

/// <summary>A <c>qmclone</c> task of the template in the node's task list, and the VMID its log names as the clone's.</summary>
public sealed record CloneTaskSighting(TaskListEntry Task, int? NewVmId);

/// <summary>
/// Finds the clone of a run that died between <c>POST …/clone</c> and journaling its UPID (the request was in
/// flight, or its answer was never written down). The journal records <c>clone started</c> before the request, so
/// the clone, if Proxmox made one, is a <c>qmclone</c> task that started after that moment. Its UPID does not name
/// the new VM: qemu-server's clone_vm forks the worker with the <em>source</em> VMID as the task id, on the source's
/// node (<c>fork_worker('qmclone', $vmid, ...)</c>), and the worker's first line says which VM it makes:
/// <c>creating a clone of VM &lt;source&gt; with ID &lt;newid&gt;</c> (PVE/API2/Qemu.pm clone_vm). So the task is
/// found by type, source VMID and start time in the template node's list, and told apart from other clones of
/// the same template by that line.
/// </summary>
public static partial class InterruptedClone
{
    /// <summary>
    /// How far the node's clock may be behind this machine's (the journal's time is ours, a task's start time the
    /// node's): tasks that started up to this long before the journaled request still count.
    /// </summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>Log lines read from the start of each candidate task (a worker waiting for a lock logs that first).</summary>
    public const int LogLinesRead = 20;

    [GeneratedRegex(@"^creating a clone of VM (\d+) with ID (\d+)$")]
    private static partial Regex CreatingLine();

    /// <summary>The VMID a clone task's log names as the new VM (for a clone of <paramref name="source"/>), or null.</summary>
    public static int? NewVmIdOf(IEnumerable<TaskLogLine> log, int source)
    {
        foreach (var line in log)
        {
            var m = CreatingLine().Match(line.Text.TrimEnd());
            if (m.Success && int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) == source)
            {
                return int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            }
        }
        return null;
    }

    /// <summary>
    /// Decides from the template node's clone tasks and the VM as the cluster reports it (null: no such VM).
    /// <paramref name="settled"/>: stop waiting for tasks whose log does not name their VM yet (treat them as others').
    /// </summary>
    public static InterruptedCloneDecision Decide(int vmId, int template, string templateNode, DateTimeOffset requestedAt,
        ClusterResource? vm, IReadOnlyList<CloneTaskSighting> tasks, bool settled)
    {
        var since = requestedAt - ClockSkew;
        var recent = tasks.Where(t => t.Task.Type == "qmclone" && t.Task.Id == template.ToString(CultureInfo.InvariantCulture) && t.Task.StartTime >= since).ToList();
        var ours = recent.Where(t => t.NewVmId == vmId).OrderByDescending(t => t.Task.StartTime).FirstOrDefault();
        var lockedByClone = vm?.Lock == "clone";
        var where = $"qmclone tasks of template {template} on node {templateNode} since {since.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z";

        if (ours is { Task: var task })
        {
            if (task.IsRunning)
            {
                return new(InterruptedCloneAction.WaitForTask, task.Upid, $"the clone of the interrupted run is still running (task {task.Upid}): waiting for it");
            }
            if (task.IsSuccess)
            {
                return vm is null
                    ? new(InterruptedCloneAction.CloneAgain, task.Upid, $"the clone of the interrupted run finished (task {task.Upid}) but VM {vmId} no longer exists: cloning again")
                    : new(InterruptedCloneAction.Continue, task.Upid, $"the clone of the interrupted run finished (task {task.Upid})");
            }
            if (vm is null)
            {
                // clone_vm removes what it made when it fails ("clone failed: ..."), so nothing is left over
                return new(InterruptedCloneAction.CloneAgain, task.Upid,
                    $"the clone of the interrupted run failed (task {task.Upid}: {task.Status}) and left nothing: cloning again");
            }
            if (lockedByClone)
            {
                return new(InterruptedCloneAction.Refuse, task.Upid,
                    $"VM {vmId} is locked by a clone whose task {task.Upid} ended with '{task.Status}'");
            }
            return new(InterruptedCloneAction.Continue, null, $"VM {vmId} exists unlocked (the clone task {task.Upid} of the interrupted run ended with '{task.Status}')");
        }
        if (!settled && recent.Any(t => t.NewVmId is null && t.Task.IsRunning))
        {
            return new(InterruptedCloneAction.LookAgain, null, $"a clone of template {template} is starting on node {templateNode}: waiting for its log to name its VM");
        }
        if (vm is null)
        {
            return new(InterruptedCloneAction.CloneAgain, null, $"none of the {where} names VM {vmId} and it does not exist: the request never reached Proxmox; cloning again");
        }
        if (lockedByClone)
        {
            return new(InterruptedCloneAction.Refuse, null, $"VM {vmId} is locked by a clone, but none of the {where} names it");
        }
        return new(InterruptedCloneAction.Continue, null, $"VM {vmId} exists unlocked (its clone finished; no task of the interrupted run is listed any more)");
    }

    /// <summary>
    /// The template node's <c>qmclone</c> tasks of <paramref name="template"/> since the journaled request (less the
    /// clock skew), each with the VMID its log names.
    /// </summary>
    public static async Task<IReadOnlyList<CloneTaskSighting>> FindTasksAsync(ProxmoxClient client, string templateNode, int template,
        DateTimeOffset requestedAt, CancellationToken ct)
    {
        var tasks = await client.GetNodeTasksAsync(templateNode, vmid: template, typeFilter: "qmclone", source: "all", limit: 100,
            since: requestedAt - ClockSkew, ct: ct).ConfigureAwait(false);
        var sightings = new List<CloneTaskSighting>();
        foreach (var task in tasks)
        {
            int? newId = null;
            if (Upid.TryParse(task.Upid, out var upid))
            {
                var log = await client.GetTaskLogAsync(upid!, 0, LogLinesRead, ct).ConfigureAwait(false);
                newId = NewVmIdOf(log.Lines, template);
            }
            sightings.Add(new CloneTaskSighting(task, newId));
        }
        return sightings;
    }
}
