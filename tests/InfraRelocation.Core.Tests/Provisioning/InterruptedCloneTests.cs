using InfraRelocation.Core.Provisioning;
using InfraRelocation.Core.Proxmox;

namespace InfraRelocation.Core.Tests.Provisioning;

/// <summary>The decision about a clone a run asked for but never journaled the task of (InterruptedClone.Decide).</summary>
public sealed class InterruptedCloneTests
{
    private static readonly DateTimeOffset Asked = new(2026, 11, 30, 20, 0, 0, TimeSpan.Zero);

    private static CloneTaskSighting Task(int? newId, string? status, TimeSpan after, int template = 9002, int pid = 0x1A2B)
    {
        var start = Asked + after;
        var upid = $"UPID:pve-fra1-a:{pid:X8}:0012D687:{start.ToUnixTimeSeconds():X8}:qmclone:{template}:root@pam!ci:";
        var running = status is null or "RUNNING";
        return new CloneTaskSighting(new TaskListEntry(upid, "pve-fra1-a", "qmclone", template.ToString(), "root@pam", status ?? "RUNNING",
            start, running ? null : start + TimeSpan.FromSeconds(30)), newId);
    }

    private static ClusterResource Vm(string? lockName, string? name = "files-core") =>
        new("qemu/216", "qemu", "pve-fra1-a", 216, name, "stopped", false, lockName, null);

    private static InterruptedCloneDecision Decide(ClusterResource? vm, bool settled = false, params CloneTaskSighting[] tasks) =>
        InterruptedClone.Decide(216, 9002, "pve-fra1-a", Asked, vm, tasks, settled);

    [Fact]
    public void A_running_clone_task_that_names_the_vm_is_waited_for()
    {
        var ours = Task(216, null, TimeSpan.FromSeconds(1));
        var d = Decide(Vm("clone", name: null), false, Task(217, null, TimeSpan.FromSeconds(2), pid: 2), ours);
        Assert.Equal(InterruptedCloneAction.WaitForTask, d.Action);
        Assert.Equal(ours.Task.Upid, d.Upid);
        Assert.Contains("still running", d.Note);
    }

    [Fact]
    public void A_finished_clone_is_continued_with_its_task()
    {
        var ours = Task(216, "OK", TimeSpan.FromSeconds(1));
        var d = Decide(Vm(null), false, ours);
        Assert.Equal(InterruptedCloneAction.Continue, d.Action);
        Assert.Equal(ours.Task.Upid, d.Upid);
        Assert.Equal(InterruptedCloneAction.Continue, Decide(Vm(null), false, Task(216, "WARNINGS: 2", TimeSpan.FromSeconds(1))).Action);
    }

    [Fact]
    public void A_failed_clone_that_left_nothing_is_cloned_again()
    {
        var d = Decide(null, false, Task(216, "clone failed: storage 'local-lvm' is full", TimeSpan.FromSeconds(1)));
        Assert.Equal(InterruptedCloneAction.CloneAgain, d.Action);
        Assert.Contains("storage 'local-lvm' is full", d.Note);
    }

    [Fact]
    public void A_failed_clone_that_left_its_vm_locked_is_refused_naming_the_vm_and_the_task()
    {
        var ours = Task(216, "unexpected status", TimeSpan.FromSeconds(1));
        var d = Decide(Vm("clone", name: null), false, ours);
        Assert.Equal(InterruptedCloneAction.Refuse, d.Action);
        Assert.Equal(ours.Task.Upid, d.Upid);
        Assert.Contains("VM 216", d.Note);
        Assert.Contains(ours.Task.Upid, d.Note);
    }

    [Fact]
    public void A_vm_locked_by_a_clone_that_no_task_names_is_refused()
    {
        // another target's clone of the same template does not count
        var d = Decide(Vm("clone", name: null), false, Task(217, "OK", TimeSpan.FromSeconds(1)));
        Assert.Equal(InterruptedCloneAction.Refuse, d.Action);
        Assert.Null(d.Upid);
        Assert.Contains("VM 216 is locked by a clone", d.Note);
        Assert.Contains("template 9002 on node pve-fra1-a", d.Note);
    }

    [Fact]
    public void No_task_and_no_vm_means_the_request_never_arrived_and_the_clone_is_asked_for_again()
    {
        var d = Decide(null, false);
        Assert.Equal(InterruptedCloneAction.CloneAgain, d.Action);
        Assert.Contains("never reached Proxmox", d.Note);
    }

    [Fact]
    public void A_clone_task_older_than_the_request_less_the_clock_skew_is_not_the_interrupted_runs()
    {
        var old = Task(216, null, -InterruptedClone.ClockSkew - TimeSpan.FromSeconds(1));
        Assert.Equal(InterruptedCloneAction.CloneAgain, Decide(null, false, old).Action);
        // within the skew (the node's clock is behind) it counts
        var skewed = Task(216, null, -TimeSpan.FromMinutes(1));
        Assert.Equal(InterruptedCloneAction.WaitForTask, Decide(Vm("clone"), false, skewed).Action);
    }

    [Fact]
    public void The_newest_task_naming_the_vm_decides()
    {
        var failedEarlier = Task(216, "clone failed: got timeout", TimeSpan.FromSeconds(1), pid: 1);
        var runningNow = Task(216, null, TimeSpan.FromSeconds(40), pid: 2);
        var d = Decide(Vm("clone"), false, failedEarlier, runningNow);
        Assert.Equal(InterruptedCloneAction.WaitForTask, d.Action);
        Assert.Equal(runningNow.Task.Upid, d.Upid);
    }

    [Fact]
    public void A_running_clone_whose_log_names_no_vm_yet_is_looked_at_again_until_settled()
    {
        var starting = Task(null, null, TimeSpan.FromSeconds(1));
        Assert.Equal(InterruptedCloneAction.LookAgain, Decide(null, false, starting).Action);
        Assert.Equal(InterruptedCloneAction.CloneAgain, Decide(null, true, starting).Action);
        Assert.Equal(InterruptedCloneAction.Refuse, Decide(Vm("clone"), true, starting).Action);
    }

    [Fact]
    public void A_vm_that_exists_unlocked_with_no_task_listed_any_more_is_continued()
    {
        var d = Decide(Vm(null), false);
        Assert.Equal(InterruptedCloneAction.Continue, d.Action);
        Assert.Null(d.Upid);
    }

    [Fact]
    public void The_new_vmid_is_read_from_the_workers_first_line_after_any_lock_wait()
    {
        TaskLogLine[] log =
        [
            new(1, "trying to acquire lock..."),
            new(2, " OK"),
            new(3, "creating a clone of VM 9002 with ID 216"),
            new(4, "create full clone of drive scsi0 (local-lvm:base-9002-disk-0)"),
        ];
        Assert.Equal(216, InterruptedClone.NewVmIdOf(log, 9002));
        Assert.Null(InterruptedClone.NewVmIdOf(log, 9001)); // the line of another source
        Assert.Null(InterruptedClone.NewVmIdOf([new(1, "create full clone of drive scsi0 (local-lvm:base-9002-disk-0)")], 9002));
    }
}
