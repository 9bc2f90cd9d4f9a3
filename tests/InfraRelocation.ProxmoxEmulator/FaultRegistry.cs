namespace InfraRelocation.Testing.Proxmox;

public enum FaultKind
{
    /// <summary>Answer with <see cref="Fault.Status"/> and <see cref="Fault.Message"/> instead of handling.</summary>
    Status,
    /// <summary>Wait <see cref="Fault.DelayMs"/> before handling.</summary>
    Delay,
    /// <summary>Abort the connection without an answer.</summary>
    Abort,
    /// <summary>Handle the request, then hold the answer back <see cref="Fault.DelayMs"/> (the server acted; the client has not heard).</summary>
    HoldAnswer,
    /// <summary>The next task of <see cref="Fault.TaskType"/> fails with <see cref="Fault.Message"/>.</summary>
    FailTask,
    /// <summary>The next task of <see cref="Fault.TaskType"/> never finishes.</summary>
    HangTask,
    /// <summary>The next task of <see cref="Fault.TaskType"/> ends with "WARNINGS: 1" and a WARN: line (<see cref="Fault.Message"/>).</summary>
    WarnTask,
}

/// <summary>One injected fault. Request faults match on method (null: any) and a path substring.</summary>
public sealed class Fault
{
    public FaultKind Kind { get; set; }
    public string? Method { get; set; }
    public string PathContains { get; set; } = "";
    public string? TaskType { get; set; }
    /// <summary>For task faults: only tasks whose id (vmid) matches; null for any.</summary>
    public string? TaskId { get; set; }
    public int Status { get; set; } = 500;
    public string Message { get; set; } = "internal error";
    public int DelayMs { get; set; }
    /// <summary>How many times it fires (negative: forever).</summary>
    public int Times { get; set; } = 1;
}

/// <summary>Faults to inject, consumed as they fire.</summary>
public sealed class FaultRegistry
{
    private readonly List<Fault> _faults = [];

    public void Add(Fault fault) { lock (_faults) _faults.Add(fault); }
    public void Clear() { lock (_faults) _faults.Clear(); }
    public IReadOnlyList<Fault> List() { lock (_faults) return _faults.ToList(); }

    public void FailPath(string method, string pathContains, int status, string message, int times = 1) =>
        Add(new Fault { Kind = FaultKind.Status, Method = method, PathContains = pathContains, Status = status, Message = message, Times = times });
    public void SlowPath(string pathContains, int delayMs, int times = 1) =>
        Add(new Fault { Kind = FaultKind.Delay, PathContains = pathContains, DelayMs = delayMs, Times = times });
    public void DropConnection(string pathContains, int times = 1) =>
        Add(new Fault { Kind = FaultKind.Abort, PathContains = pathContains, Times = times });
    public void FailNextTask(string taskType, string message, string? taskId = null) =>
        Add(new Fault { Kind = FaultKind.FailTask, TaskType = taskType, TaskId = taskId, Message = message });
    public void WarnNextTask(string taskType, string warning) => Add(new Fault { Kind = FaultKind.WarnTask, TaskType = taskType, Message = warning });
    public void HangNextTask(string taskType) => Add(new Fault { Kind = FaultKind.HangTask, TaskType = taskType });

    /// <summary>All request faults that fire for this request (each consumes one use).</summary>
    public List<Fault> TakeRequestFaults(string method, string path)
    {
        lock (_faults)
        {
            var hits = _faults.Where(f => f.Kind is FaultKind.Status or FaultKind.Delay or FaultKind.Abort or FaultKind.HoldAnswer
                && (f.Method is null || string.Equals(f.Method, method, StringComparison.OrdinalIgnoreCase))
                && path.Contains(f.PathContains, StringComparison.Ordinal)).ToList();
            foreach (var f in hits) Consume(f);
            return hits;
        }
    }

    public Fault? TakeTaskFault(string type, string id)
    {
        lock (_faults)
        {
            var hit = _faults.FirstOrDefault(f => f.Kind is FaultKind.FailTask or FaultKind.HangTask or FaultKind.WarnTask && f.TaskType == type && (f.TaskId is null || f.TaskId == id));
            if (hit is not null) Consume(hit);
            return hit;
        }
    }

    private void Consume(Fault f)
    {
        if (f.Times > 0 && --f.Times == 0) _faults.Remove(f);
    }
}
