-- CreateTable
CREATE TABLE "WorkloadPolicy" (
    "clusterId" UUID NOT NULL,
    "policy" JSONB NOT NULL,
    "updatedBy" TEXT NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "WorkloadPolicy_pkey" PRIMARY KEY ("clusterId")
);

-- AddForeignKey
ALTER TABLE "WorkloadPolicy" ADD CONSTRAINT "WorkloadPolicy_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;
