# Source of truth for the module's version: build.ps1 reads it and stamps every assembly with it.
# Import the built module from output/InfraRelocation/<version>/, not this file.
@{
    RootModule           = 'bin/InfraRelocation.Commands.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f1d8e3a-52c4-4b8e-9a57-0d3e2f4c9b61'
    Author               = 'InfraRelocation developers'
    CompanyName          = 'InfraRelocation'
    Copyright            = '(c) InfraRelocation developers. MIT License.'
    Description          = 'Governed, previewable, reversible infrastructure relocations between Proxmox hosts: parity gates, state transitions, provisioning and receipts.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('InfraRelocation.Format.ps1xml')
    CmdletsToExport      = @(
        'Get-RelocationEstate'
        'New-RelocationEstate'
        'Get-RelocationManifest'
        'Get-RelocationReceipt'
        'Test-RelocationManifest'
        'Test-RelocationReceiptChain'
        'Repair-RelocationReceiptChain'
        'Invoke-RelocationParity'
        'Test-RelocationException'
        'Test-PlacementPolicy'
        'Test-HypervisorIdentity'
        'Get-RelocationImpact'
        'Get-RelocationRollbackPlan'
        'Invoke-RelocationGate'
        'Export-RelocationReport'
        'New-ProxmoxVm'
        'Invoke-RelocationPreflight'
        'Initialize-RelocationVm'
        'Get-VmReadiness'
        'Set-HypervisorHostname'
        'Set-RelocationState'
        'Set-RelocationServiceStatus'
        'Set-RelocationVmTarget'
        'Invoke-RelocationPromotion'
        'Invoke-RelocationRollback'
        'Start-Relocation'
        'Close-Relocation'
        'Approve-RelocationEdit'
        'Get-RelocationChecklist'
        'Confirm-RelocationChecklistItem'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('Proxmox', 'Relocation', 'Migration', 'Governance', 'Infrastructure', 'PSEdition_Core', 'Linux')
            LicenseUri   = 'https://opensource.org/licenses/MIT'
            ReleaseNotes = 'See CHANGELOG.md.'
        }
    }
}
