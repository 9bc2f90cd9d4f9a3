# The receipt ledger end to end (docs/design/ledger.md): a torn tail is reported and repaired, a ledger that cannot
# be written (torn, read-only, full) stops a change before anything is written while read-only evidence still returns
# its result with a warning, the ledger moves with $env:INFRA_RELOCATION_RECEIPTS, and Test-RelocationReceiptChain
# writes nothing.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'PreflightFixture.ps1')
    $script:noPreflightHosts = Test-TestPreflightAvailable
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'PreflightFixture.ps1')
    $script:Ns = 'InfraRelocation.Commands.Cmdlets'

    function Get-EstateDigest([string] $Root) {
        # every estate file except the ledger and the tool's own state
        Get-ChildItem $Root -Recurse -File -Force | Where-Object { $_.FullName -notmatch '[\\/](receipts|\.infra-relocation)[\\/]' } |
            Sort-Object FullName | ForEach-Object { "$($_.FullName) $((Get-FileHash $_.FullName).Hash)" }
    }

    # A small tmpfs over the estate's receipts folder (needs root); returns $null with the reason when refused.
    function Mount-Receipts([string] $Root, [string] $Options) {
        if (-not $IsLinux) { return 'not Linux' }
        $folder = Join-Path $Root 'receipts'
        New-Item -ItemType Directory -Force $folder | Out-Null
        $out = & mount -t tmpfs -o $Options tmpfs $folder 2>&1
        if ($LASTEXITCODE -ne 0) { return "mount -t tmpfs was refused ($out)" }
        $script:Mounts.Add($folder)
        $null
    }

    # The attack with no key: a copy of the latest real receipt of a capability, made to pass, appended after the head
    # with the right link (the SHA-256 of the head's receipt) and its own correct hash. Hashes need no secret.
    function Add-ForgedPass([string] $Root, [string] $Capability) {
        $ledger = Join-Path $Root 'receipts/ledger.jsonl'
        $lines = @(Get-Content $ledger)
        $head = ($lines[-1] | ConvertFrom-Json).hash
        $real = $lines | Where-Object { ($_ | ConvertFrom-Json).receipt.Capability -eq $Capability } | Select-Object -Last 1
        $from = $real.IndexOf('"receipt":') + '"receipt":'.Length
        $to = $real.LastIndexOf(',"signature":')
        if ($to -lt 0) { $to = $real.Length - 1 }
        $receipt = $real.Substring($from, $to - $from) -replace '"RunId":"[^"]*"', '"RunId":"forged"' -replace '"Outcome":"[^"]*"', '"Outcome":"Passed"' -replace '"PreviousHash":"[0-9a-f]*"', "`"PreviousHash`":`"$head`""
        $hash = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($receipt))).ToLowerInvariant()
        $type = ($real | ConvertFrom-Json).type
        Add-Content $ledger "{`"hash`":`"$hash`",`"type`":`"$type`",`"receipt`":$receipt}"
    }

    $script:Mounts = [Collections.Generic.List[string]]::new()
    $script:ProbeRoot = New-TestEstate -Name probe
    $script:MountSkip = Mount-Receipts $ProbeRoot 'size=64k'
}

AfterAll {
    foreach ($m in $script:Mounts) { & umount $m 2>&1 | Out-Null }
}

Describe 'A torn ledger' {
    BeforeEach {
        $script:root = New-TestEstate -Name torn
        Invoke-RelocationParity -Root $root -WarningAction SilentlyContinue | Out-Null
        Invoke-RelocationParity -Root $root -WarningAction SilentlyContinue | Out-Null
        $script:ledger = Join-Path $root 'receipts/ledger.jsonl'
        $script:intact = (Get-Item $ledger).Length
        $script:tornText = '{"hash":"0f0f","type":"InfraRelocation.Receipts.GateRec'
        [IO.File]::AppendAllText($ledger, $tornText)
    }

    It 'is reported by file and byte offset, and the receipts before it still verify' {
        $result = Test-RelocationReceiptChain -Root $root -WarningVariable warned -WarningAction SilentlyContinue
        $result.IsValid | Should -BeFalse
        $result.Break | Should -Be 'Torn'
        $result.BrokenAtOffset | Should -Be $intact
        $result.ReceiptCount | Should -Be 2
        $result.Findings[0].RuleId | Should -Be 'RECEIPT.ChainTorn'
        "$warned" | Should -Match "receipts/ledger.jsonl:3:1 \(byte $intact\)"
        @(Get-RelocationReceipt -Root $root -WarningAction SilentlyContinue).Count | Should -Be 2
    }

    It 'does not stop read-only evidence: the gate returns its result and exit code with a warning' {
        $code = Invoke-RelocationGate -Root $root -AsExitCode -WarningVariable warned -WarningAction SilentlyContinue -InformationAction SilentlyContinue
        $code | Should -BeIn 0, 1
        "$warned" | Should -Match 'Evidence was not recorded \(ReceiptLedgerTorn\)'
    }

    It 'stops a change before anything is written' {
        $before = Get-EstateDigest $root
        { Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -Force -Reason 'ledger test: the SSOTs are not moved' -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "ReceiptLedgerTorn,$Ns.SetRelocationServiceStatusCommand"
        Get-EstateDigest $root | Should -Be $before
        Test-Path (Join-Path $root '.infra-relocation/journal/*.json') | Should -BeFalse
    }

    It 'is repaired by Repair-RelocationReceiptChain, which keeps the cut bytes and records the repair' {
        Repair-RelocationReceiptChain -Root $root -WhatIf
        (Get-Item $ledger).Length | Should -BeGreaterThan $intact
        $repair = Repair-RelocationReceiptChain -Root $root -Confirm:$false -WarningAction SilentlyContinue
        $repair.TruncatedAtOffset | Should -Be $intact
        $repair.RemovedBytes | Should -Be $tornText.Length
        Get-Content -Raw (Join-Path $root $repair.SavedAs) | Should -Be $tornText
        $chain = Test-RelocationReceiptChain -Root $root
        $chain.IsValid | Should -BeTrue
        $chain.ReceiptCount | Should -Be 3
        (Get-RelocationReceipt -Root $root)[-1].Capability | Should -Be 'infra.relocation.receipts.repair'
        $receipt = Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -Force -Reason 'ledger test: the SSOTs are not moved' -Confirm:$false -WarningAction SilentlyContinue
        $receipt.Outcome | Should -Be 'Succeeded'
    }

    It 'refuses to "repair" an edited receipt' {
        $lines = @(Get-Content $ledger | Select-Object -First 2)
        $lines[0] = $lines[0].Replace('"Mode":"Read"', '"Mode":"Execute"')
        Set-Content $ledger $lines
        { Repair-RelocationReceiptChain -Root $root -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId "ReceiptChainNotTorn,$Ns.RepairRelocationReceiptChainCommand"
    }
}

Describe 'A ledger that cannot be written' {
    It 'read-only: the change is refused before anything is written; the gate still answers' -Skip:([bool]$MountSkip) {
        $root = New-TestEstate -Name readonly
        Mount-Receipts $root 'size=1m,ro' | Should -BeNullOrEmpty
        $before = Get-EstateDigest $root
        { Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -Force -Reason 'ledger test: the SSOTs are not moved' -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "ReceiptLedgerUnwritable,$Ns.SetRelocationServiceStatusCommand"
        Get-EstateDigest $root | Should -Be $before
        $gate = @(Invoke-RelocationGate -Root $root -WarningVariable warned -WarningAction SilentlyContinue)
        $gate[-1] | Should -BeOfType InfraRelocation.Receipts.GateReceipt
        "$warned" | Should -Match 'Evidence was not recorded \(ReceiptLedgerUnwritable\)'
    }

    It 'full: the change is refused before anything is written' -Skip:([bool]$MountSkip) {
        $root = New-TestEstate -Name full
        Mount-Receipts $root 'size=64k' | Should -BeNullOrEmpty
        $filler = Join-Path $root 'receipts/filler'
        try { [IO.File]::WriteAllBytes($filler, [byte[]]::new(1MB)) } catch { } # fills the 64 KiB file system
        $before = Get-EstateDigest $root
        { Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -Force -Reason 'ledger test: the SSOTs are not moved' -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "ReceiptLedgerUnwritable,$Ns.SetRelocationServiceStatusCommand"
        Get-EstateDigest $root | Should -Be $before
        Test-Path (Join-Path $root '.infra-relocation/journal/*.json') | Should -BeFalse
    }
}

Describe 'Where the ledger is' {
    It '$env:INFRA_RELOCATION_RECEIPTS moves it for a run' {
        $root = New-TestEstate -Name elsewhere
        $elsewhere = Join-Path $TestDrive "ledger-$([guid]::NewGuid().ToString('n').Substring(0, 6))"
        $run = Invoke-InFreshPwsh { param($Root, $Folder) $env:INFRA_RELOCATION_RECEIPTS = $Folder; Invoke-RelocationParity -Root $Root | Out-Null } -ArgumentList $root, $elsewhere
        $run.ExitCode | Should -Be 0 -Because $run.Errors
        Test-Path (Join-Path $elsewhere 'ledger.jsonl') | Should -BeTrue
        Test-Path (Join-Path $root 'receipts') | Should -BeFalse
    }

    It 'the checklist reads the ledger $env:INFRA_RELOCATION_RECEIPTS moved, not the estate''s' {
        $root = New-TestEstate -Name elsewhere-read
        $elsewhere = Join-Path $TestDrive "ledger-$([guid]::NewGuid().ToString('n').Substring(0, 6))"
        $run = Invoke-InFreshPwsh {
            param($Root, $Folder)
            $env:INFRA_RELOCATION_RECEIPTS = $Folder
            Invoke-RelocationParity -Root $Root | Out-Null
            $item = Get-RelocationChecklist -Root $Root -Phase PreCutover | Where-Object Id -EQ 'PRE.Parity'
            "$($item.State)"
        } -ArgumentList $root, $elsewhere
        $run.ExitCode | Should -Be 0 -Because $run.Errors
        $run.Output | Should -Be 'Done'
        (Get-RelocationChecklist -Root $root -Phase PreCutover | Where-Object Id -EQ 'PRE.Parity').State | Should -Be 'Missing'
    }

    It 'Test-RelocationReceiptChain writes nothing' {
        $root = New-TestEstate -Name verify
        Invoke-RelocationParity -Root $root -WarningAction SilentlyContinue | Out-Null
        $ledger = Join-Path $root 'receipts/ledger.jsonl'
        $before = Get-FileHash $ledger
        (Test-RelocationReceiptChain -Root $root).ReceiptCount | Should -Be 1
        (Get-FileHash $ledger).Hash | Should -Be $before.Hash
    }
}

Describe 'Guards verify the chain before they trust evidence' -Skip:([bool]$noPreflightHosts) {
    BeforeAll { $script:Hosts = Start-TestPreflightHosts -Prefix lg }
    AfterAll { Stop-TestPreflightHosts $script:Hosts }

    It 'refuses cutover when the preflight evidence was edited after it was written' {
        $root = New-TestEstate -Name forged
        # A real preflight that fails (wiki answers 503), then turned into a passing one by hand.
        (Add-TestPreflightEvidence -Root $root -Hosts $Hosts -Unhealthy wiki -AllowFailure).Outcome | Should -Be 'Failed'
        $ledger = Join-Path $root 'receipts/ledger.jsonl'
        $lines = @(Get-Content $ledger)
        $lines[-1] = $lines[-1].Replace('"Outcome":"Failed"', '"Outcome":"Passed"')  # turn a failed preflight into a passing one
        Set-Content $ledger $lines
        $err = { Set-RelocationState -Root $root -State cutover -ApprovedBy cab-chair -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationStateCommand" -PassThru
        $err.Exception.Findings.RuleId | Should -Contain 'TRANSITION.LedgerChainBroken'
    }
}

Describe 'Each ledger attack is detected: the chain head is anchored in the manifest' {
    BeforeAll {
        $script:Plan = 'ops/bindings/infra.relocation.plan.yaml'

        # What an attacker does after editing: recompute every link and hash, so the chain verifies on its own.
        function Set-Rehashed([string] $Ledger, [scriptblock] $Edit = { param($r) $r }) {
            $previous = ''
            $out = foreach ($line in Get-Content $Ledger) {
                if ($line -notmatch '^\{"hash":"[0-9a-f]{64}","type":"([^"]+)","receipt":(.*)\}$') { throw "not a receipt line: $line" }
                $type = $Matches[1]
                $receipt = (& $Edit $Matches[2]) -replace '"PreviousHash":"[0-9a-f]*"', "`"PreviousHash`":`"$previous`""
                $previous = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($receipt))).ToLowerInvariant()
                "{`"hash`":`"$previous`",`"type`":`"$type`",`"receipt`":$receipt}"
            }
            Set-Content $Ledger $out
        }

        function Assert-CutoverRefused([string] $Root, [string] $Because) {
            $err = { Set-RelocationState -Root $Root -State cutover -ApprovedBy cab-chair -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } |
                Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationStateCommand" -PassThru
            $broken = $err.Exception.Findings | Where-Object RuleId -EQ 'TRANSITION.LedgerChainBroken'
            $broken | Should -Not -BeNullOrEmpty -Because $Because
            $broken.Message | Should -Match $Because
        }
    }

    BeforeEach {
        # a read, a change (which anchors the head), a read after it
        $script:root = New-TestEstate -Name anchored
        Invoke-RelocationParity -Root $root -WarningAction SilentlyContinue | Out-Null
        Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -Force -Reason 'ledger test: the SSOTs are not moved' -Confirm:$false -WarningAction SilentlyContinue | Out-Null
        Invoke-RelocationParity -Root $root -WarningAction SilentlyContinue | Out-Null
        $script:ledger = Join-Path $root 'receipts/ledger.jsonl'
        $script:anchorLine = (Select-String -Path (Join-Path $root $Plan) -Pattern '^ledger_anchor: ').LineNumber
    }

    It 'a change writes ledger_anchor into the manifest in its transaction, and the intact ledger reaches it' {
        $anchor = (Get-Content (Join-Path $root $Plan))[$anchorLine - 1]
        $change = (Get-RelocationReceipt -Root $root)[1]
        $anchor | Should -Match "^ledger_anchor: tx $($change.TransactionId) after $((Get-RelocationReceipt -Root $root)[0].Hash)$"
        $chain = Test-RelocationReceiptChain -Root $root
        $chain.IsValid | Should -BeTrue
        $chain.Anchored | Should -BeTrue
        $chain.Anchor | Should -Be $anchor.Substring('ledger_anchor: '.Length)
    }

    It 'a truncated tail (the change''s receipt cut off) is reported at the anchor, and cutover is refused' {
        Set-Content $ledger @(Get-Content $ledger)[0]
        $chain = Test-RelocationReceiptChain -Root $root -WarningVariable warned -WarningAction SilentlyContinue
        $chain.IsValid | Should -BeFalse
        $chain.Break | Should -Be 'Anchor'
        $chain.Findings[0].RuleId | Should -Be 'RECEIPT.ChainAnchor'
        "$($chain.Findings[0].Location)" | Should -Be "${Plan}:${anchorLine}:16"
        "$warned" | Should -Match "${Plan}:${anchorLine}:16: .*truncated"
        Assert-CutoverRefused $root -Because 'truncated'
    }

    It 'a rewritten and re-hashed ledger (every link recomputed) is reported, and cutover is refused' {
        Set-Rehashed $ledger { param($r) $r.Replace('"Mode":"Read"', '"Mode":"Execute"') }
        $chain = Test-RelocationReceiptChain -Root $root -WarningAction SilentlyContinue
        $chain.Break | Should -Be 'Anchor'
        $chain.Summary | Should -Match 'rewritten and re-hashed'
        Assert-CutoverRefused $root -Because 'rewritten'
    }

    It 'a forged receipt appended with a made-up link breaks the chain, and cutover is refused' {
        $lines = @(Get-Content $ledger)
        $forged = $lines[0] -replace '"PreviousHash":"[0-9a-f]*"', ('"PreviousHash":"' + ('0' * 64) + '"')
        Set-Content $ledger ($lines + $forged)
        (Test-RelocationReceiptChain -Root $root -WarningAction SilentlyContinue).IsValid | Should -BeFalse
        Assert-CutoverRefused $root -Because 'was edited|does not follow'
    }

    It 'a forged passing receipt appended after the last change, correctly linked: without signers the chain holds, and Test-RelocationReceiptChain reports it not anchored' {
        Add-ForgedPass $root 'infra.relocation.parity'
        $chain = Test-RelocationReceiptChain -Root $root
        $chain.IsValid | Should -BeTrue -Because 'hashes need no secret'
        $chain.Anchored | Should -BeTrue
        # Not sealed by the anchor: the change's own receipt, the read after it, and the forgery.
        $chain.UnanchoredCount | Should -Be 3
        # The chain's view shows the count (module/Formats/Model.Format.ps1xml).
        ($chain | Out-String -Width 120) | Should -Match '(?m)^Anchored\s+: True\r?\nUnanchoredCount : 3\r?$'
        $note = $chain.Findings | Where-Object RuleId -EQ 'RECEIPT.NotAnchored'
        $note.Severity | Should -Be 'Information'
        "$($note.Location)" | Should -Be 'receipts/ledger.jsonl:2:1'
        $note.Message | Should -Match '^3 receipt\(s\) are not anchored, after the head .*line 4 infra\.relocation\.parity Passed run forged\..*lists no receipts\.signers, so guards count them as evidence'
        # The limit, as documented: without signers, the guards count the forgery as evidence.
        $parity = Get-RelocationChecklist -Root $root -Phase PreCutover | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] -and $_.Id -eq 'PRE.Parity' }
        $parity.RunId | Should -Be 'forged'
        # ... but it is detected and named: the item says its receipt is not anchored yet, naming the last change's run.
        $parity.Unanchored | Should -BeTrue
        $change = (Get-RelocationReceipt -Root $root)[1]
        $parity.Evidence | Should -Match ('Not yet anchored: appended after the last change \(run ' + [regex]::Escape($change.RunId) + '\)')
        # The next change seals it into the anchored history (removing it afterwards breaks the chain or the anchor).
        Set-RelocationServiceStatus -Root $root -Service rss-reader -Status shadow -Force -Reason 'ledger test: the SSOTs are not moved' -Confirm:$false -WarningAction SilentlyContinue | Out-Null
        (Test-RelocationReceiptChain -Root $root).UnanchoredCount | Should -Be 1
    }

    It 'a broken chain (a receipt removed) is reported by line, and cutover is refused' {
        $lines = @(Get-Content $ledger)
        Set-Content $ledger $lines[0], $lines[2]
        $chain = Test-RelocationReceiptChain -Root $root -WarningAction SilentlyContinue
        $chain.Break | Should -Be 'Removed'
        $chain.BrokenAtLine | Should -Be 2
        Assert-CutoverRefused $root -Because 'does not follow|removed'
    }
}

Describe 'Operator signatures: the estate lists its signers, evidence counts only when one of them signed it' {
    BeforeAll {
        $script:Key = Join-Path $TestDrive 'alice_ed25519'
        & ssh-keygen -t ed25519 -N '' -C 'alice@ledger-test' -f $Key -q
        $script:PublicKey = (Get-Content "$Key.pub" -Raw).Trim()
        $script:Fingerprint = ((& ssh-keygen -l -f "$Key.pub") -split ' ')[1]

        function New-SignedEstate {
            $root = New-TestEstate -Name signed
            $config = Join-Path $root 'ops/infra-relocation.yaml'
            $text = (Get-Content -Raw $config).Replace("receipts:`n  folder: receipts`n",
                "receipts:`n  folder: receipts`n  signers:`n    - name: alice`n      key: $PublicKey`n")
            [IO.File]::WriteAllText($config, $text)
            $root
        }

        # Runs a command with the operator's key (the variable is removed again, whatever happens).
        function Invoke-Signed([scriptblock] $Command) {
            $env:INFRA_RELOCATION_SIGNING_KEY = $Key
            try { & $Command } finally { Remove-Item Env:INFRA_RELOCATION_SIGNING_KEY }
        }
    }

    It 'Test-RelocationReceiptChain says who signed what (ssh-keygen''s own fingerprint)' {
        $root = New-SignedEstate
        Invoke-Signed { Invoke-RelocationParity -Root $root -WarningAction SilentlyContinue | Out-Null }
        Invoke-RelocationParity -Root $root -WarningAction SilentlyContinue | Out-Null
        $chain = Test-RelocationReceiptChain -Root $root
        $chain.IsValid | Should -BeTrue
        $chain.UnsignedCount | Should -Be 1
        $signed = @($chain.Signatures)
        $signed.Count | Should -Be 1
        $signed[0].Line | Should -Be 1
        $signed[0].Signer | Should -Be 'alice'
        $signed[0].Status | Should -Be 'Valid'
        $signed[0].Fingerprint | Should -Be $Fingerprint
        $signed[0].Capability | Should -Be 'infra.relocation.parity'
    }

    It 'a forged passing preflight appended after the last anchor, correctly linked, passes the chain but is refused as evidence' {
        $root = New-SignedEstate
        Invoke-Signed {
            Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -Force -Reason 'ledger test: the SSOTs are not moved' -Confirm:$false -WarningAction SilentlyContinue | Out-Null
        }
        $ledger = Join-Path $root 'receipts/ledger.jsonl'
        $head = (@(Get-Content $ledger)[-1] | ConvertFrom-Json).hash
        $changeId = (Get-RelocationManifest -Root $root).ActiveRelocation.ChangeId
        $receipt = '{"Capability":"infra.relocation.preflight","Command":"Invoke-RelocationPreflight","RunId":"forged","Mode":"Read","Outcome":"Passed",' +
            "`"EndedUtc`":`"$([DateTimeOffset]::UtcNow.ToString('o'))`",`"ChangeId`":`"$changeId`",`"HealthBaseline`":[],`"BackupVerification`":[],`"PreviousHash`":`"$head`"}"
        $hash = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($receipt))).ToLowerInvariant()
        Add-Content $ledger "{`"hash`":`"$hash`",`"type`":`"InfraRelocation.Receipts.PreflightReceipt`",`"receipt`":$receipt}"

        $chain = Test-RelocationReceiptChain -Root $root
        $chain.IsValid | Should -BeTrue -Because 'hashes need no secret: the chain and the anchor cannot see this forgery'
        $chain.Anchored | Should -BeTrue
        @($chain.Signatures).Count | Should -Be 1 -Because 'only the real change is signed'

        $err = { Invoke-Signed { Set-RelocationState -Root $root -State cutover -ApprovedBy cab-chair -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } } |
            Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationStateCommand" -PassThru
        $unsigned = $err.Exception.Findings | Where-Object RuleId -EQ 'TRANSITION.EvidenceUnsigned'
        $unsigned.Message | Should -Match 'The latest passing preflight receipt \(forged\) is unsigned'
        "$($unsigned.Location)" | Should -Match '^ops/bindings/infra.relocation.plan.yaml:\d+:\d+$'
    }

    It 'a forged passing parity receipt appended after the last anchor is Missing on the checklist, and entering cutover names it unsigned' {
        $root = New-SignedEstate
        Invoke-Signed {
            Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -Force -Reason 'ledger test: the SSOTs are not moved' -Confirm:$false -WarningAction SilentlyContinue | Out-Null
            Invoke-RelocationParity -Root $root -WarningAction SilentlyContinue | Out-Null
        }
        # A copy of that real run (it read the files as they are), made to pass.
        Add-ForgedPass $root 'infra.relocation.parity'
        $chain = Test-RelocationReceiptChain -Root $root
        $chain.IsValid | Should -BeTrue -Because 'the chain cannot see it'
        # Not anchored: the change's own receipt and the parity run (both signed), and the forgery.
        $chain.UnanchoredCount | Should -Be 3
        ($chain.Findings | Where-Object RuleId -EQ 'RECEIPT.NotAnchored').Message | Should -Match 'line 3 infra\.relocation\.parity Passed run forged\..*Guards count only those a key receipts\.signers lists signed \(2 of them\)'

        $parity = Get-RelocationChecklist -Root $root -Phase PreCutover | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] -and $_.Id -eq 'PRE.Parity' }
        $parity.State | Should -Be 'Missing'
        $parity.Evidence | Should -Match '^Run forged at .* \(infra\.relocation\.parity\) is unsigned, and ops/infra-relocation\.yaml lists receipts\.signers: evidence counts only when one of them signed it\.'
        $err = { Invoke-Signed { Set-RelocationState -Root $root -State cutover -ApprovedBy cab-chair -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } } |
            Should -Throw -ErrorId "TransitionBlocked,$Ns.SetRelocationStateCommand" -PassThru
        $item = $err.Exception.Findings | Where-Object { $_.RuleId -eq 'TRANSITION.ChecklistIncomplete' -and $_.Subject -eq 'PRE.Parity' }
        $item.Message | Should -Match 'PRE\.Parity \(.*\) is Missing: Run forged .* is unsigned'

        # The same run signed by the operator counts.
        Invoke-Signed { Invoke-RelocationParity -Root $root -WarningAction SilentlyContinue | Out-Null }
        $parity = Get-RelocationChecklist -Root $root -Phase PreCutover | Where-Object { $_ -is [InfraRelocation.Gates.ChecklistItem] -and $_.Id -eq 'PRE.Parity' }
        $parity.RunId | Should -Not -Be 'forged'
        $parity.Evidence | Should -Not -Match 'unsigned'
    }

    It 'a signing key that is not an OpenSSH Ed25519 key stops a change before anything is written' {
        $root = New-SignedEstate
        $bad = Join-Path $TestDrive 'not-a-key'
        Set-Content $bad 'not a key'
        $before = Get-EstateDigest $root
        $env:INFRA_RELOCATION_SIGNING_KEY = $bad
        try {
            { Set-RelocationServiceStatus -Root $root -Service bookmarks -Status shadow -Force -Reason 'ledger test' -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } |
                Should -Throw -ErrorId "ReceiptSigningKeyInvalid,$Ns.SetRelocationServiceStatusCommand"
        } finally { Remove-Item Env:INFRA_RELOCATION_SIGNING_KEY }
        Get-EstateDigest $root | Should -Be $before
    }
}
